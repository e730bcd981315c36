// SPDX-License-Identifier: GPL-2.0
/*
 * The tracepoints of trace.h, instantiated here and nowhere else: every
 * other file includes trace.h for the trace_synguard_*() calls only.
 */
#define CREATE_TRACE_POINTS
#include "trace.h"
