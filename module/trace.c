// SPDX-License-Identifier: GPL-2.0
/* The trace event finwait_stats:lifetime (fw_trace.h), defined once. */
#define CREATE_TRACE_POINTS
#include "fw_trace.h"
