// SPDX-License-Identifier: GPL-2.0
/*
 * synguard: keep local TCP listeners reachable during a SYN flood.
 *
 * Module parameters are the initial configuration of every network
 * namespace; each namespace then has its own sysctls under
 * /proc/sys/net/synguard/.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include "flow.h"
#include "netns.h"
#include "sysctl.h"

#ifndef SYNGUARD_VERSION
#define SYNGUARD_VERSION "unknown"
#endif

struct synguard_cfg synguard_defaults = {
	.mode = SYNGUARD_MODE_ADAPTIVE,
	.msl = 30,
	.max_flows = 65536,
	.mss = 0,
	.wscale = 0,
	.syn_rate = { 5000, 10000 },
	.queue_fill = { 25, 50 },
	.hold = 10,
};

char *synguard_default_ports = "";
char *synguard_default_gw_prefixes = "";

module_param_named(mode, synguard_defaults.mode, int, 0444);
MODULE_PARM_DESC(mode, "0 off, 1 adaptive (default), 2 always");
module_param_named(msl, synguard_defaults.msl, int, 0444);
MODULE_PARM_DESC(msl, "maximum segment lifetime, seconds (1-3600, default 30)");
module_param_named(max_flows, synguard_defaults.max_flows, int, 0444);
MODULE_PARM_DESC(max_flows, "proxied connections per namespace (default 65536)");
module_param_named(mss, synguard_defaults.mss, int, 0444);
MODULE_PARM_DESC(mss, "MSS to announce, 0 = automatic (default)");
module_param_named(wscale, synguard_defaults.wscale, int, 0444);
MODULE_PARM_DESC(wscale, "window scale to announce, 0 = automatic (default)");
module_param_array_named(syn_rate, synguard_defaults.syn_rate, int, NULL, 0444);
MODULE_PARM_DESC(syn_rate, "adaptive: SYNs/s to stay engaged at, to engage at (default 5000,10000; 0,0 = no rate trigger)");
module_param_array_named(queue_fill, synguard_defaults.queue_fill, int, NULL, 0444);
MODULE_PARM_DESC(queue_fill, "adaptive: SYN-queue fill, % of backlog, to stay engaged at, to engage at (default 25,50)");
module_param_named(hold, synguard_defaults.hold, int, 0444);
MODULE_PARM_DESC(hold, "adaptive: seconds engaged after the last look above a low threshold (default 10)");
module_param_named(ports, synguard_default_ports, charp, 0444);
MODULE_PARM_DESC(ports, "ports to protect, e.g. \"80,443,8000-8080\"; empty = all");
module_param_named(gateway, synguard_defaults.gateway, int, 0444);
MODULE_PARM_DESC(gateway, "forwarded traffic: 0 off (default), 1 stateless front, 2 relay");
module_param_named(gateway_prefixes, synguard_default_gw_prefixes, charp, 0444);
MODULE_PARM_DESC(gateway_prefixes, "destinations to protect behind this host, e.g. \"192.0.2.0/24,2001:db8::/64\"; empty = none");

static int __init synguard_init(void)
{
	int err;

	err = synguard_cfg_validate(&synguard_defaults);
	if (!err)
		err = synguard_gw_prefixes_check(synguard_default_gw_prefixes);
	if (err) {
		pr_err("synguard: module parameter out of range\n");
		return err;
	}
	err = synguard_flow_cache_init();
	if (err)
		return err;
	err = synguard_netns_register();
	if (err)
		goto free_cache;
	pr_info("synguard %s loaded\n", SYNGUARD_VERSION);
	return 0;

free_cache:
	synguard_flow_cache_exit();
	return err;
}

static void __exit synguard_exit(void)
{
	synguard_netns_unregister();
	/* Flows and key sets freed through call_rcu use this module's code. */
	rcu_barrier();
	synguard_flow_cache_exit();
}

module_init(synguard_init);
module_exit(synguard_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("SYN flood protection for local TCP listeners with SipHash SYN cookies");
MODULE_AUTHOR("The synguard developers");
MODULE_VERSION(SYNGUARD_VERSION);
