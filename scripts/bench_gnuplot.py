# SPDX-License-Identifier: GPL-2.0
"""Running gnuplot for the benchmark reports' charts (bench-report.py,
bench-cost-report.py)."""
import os
import subprocess
import sys


def plot(gp, script, png, who):
    """Run gnuplot @gp on @script, which writes @png. False, with the
    reason on stderr under @who's name, if it did not."""
    res = subprocess.run([gp], input=script.encode(), capture_output=True)
    if res.returncode != 0 or not os.path.exists(png):
        print("%s: gnuplot failed: %s" % (who, res.stderr.decode()[-500:]),
              file=sys.stderr)
        return False
    return True
