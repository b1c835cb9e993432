/*
 * bh_fpga.h - the `fpga` engine backend: a C driver for the simulated
 * matching core (hw/rtl, sim/bh_sim.h).  The backend registers itself with
 * the engine from a constructor; everything else goes through
 * bh_backend_find("fpga") and the bh_backend_ops vtable.  This header adds
 * what tests and `biohub bench fpga` need beyond the vtable.
 *
 * Driver model: load() sorts the shard's rows by id (so the core's
 * row-order tie rule is the engine's id-order tie rule) and copies them,
 * repacked to 64-byte-rounded rows, into device memory.  search() takes up to
 * `lanes` queries per descriptor; a K above the core's KMAX is served in
 * passes, each asking for the next KMAX hits strictly after the last one.
 * Errors: BH_EDEVICE (malformed descriptor, DMA out of range, host bus
 * error, bad completion), BH_ETIMEOUT (core watchdog or driver timeout).
 * After an error the core is soft-reset and the backend stays usable.
 */
#ifndef BH_FPGA_H
#define BH_FPGA_H

#include <stdint.h>

#include "bh_engine.h"

/* Faults injected into the next search of any fpga backend instance
 * (tests only; one shot). */
enum {
	BH_FPGA_FAULT_NONE = 0,
	BH_FPGA_FAULT_DESC = 1,      /* descriptor with a corrupt magic */
	BH_FPGA_FAULT_DMA_RANGE = 2, /* gallery address past device memory */
	BH_FPGA_FAULT_TIMEOUT = 3,   /* device memory stops answering */
	BH_FPGA_FAULT_HOST_BUS = 4,  /* result address outside the host window */
};
void bh_fpga_inject_fault(int fault);

/* Modelled device: clock and memory figures used for throughput. */
#define BH_FPGA_CLOCK_MHZ 250.0
#define BH_FPGA_DEV_BYTES_PER_CYCLE 64 /* 16 GB/s device memory at 250 MHz */
#define BH_FPGA_DEV_LATENCY 40         /* cycles (160 ns) */
#define BH_FPGA_HOST_LATENCY 250       /* cycles (1 us, a PCIe round trip) */

typedef struct bh_fpga_stats {
	uint32_t lanes, kmax, max_beats;
	uint64_t jobs;         /* descriptors completed */
	uint64_t job_cycles;   /* sum of the cycles the core reported per job */
	uint64_t records;      /* records streamed (RegRec) */
	uint64_t sim_cycles;   /* cycles simulated, incl. register accesses */
	uint64_t sim_ns;       /* thread CPU time spent clocking the model */
	uint64_t stall_cycles; /* stream cycles without a beat */
} bh_fpga_stats;

/* be must come from the fpga backend's open(). */
void bh_fpga_get_stats(const bh_backend *be, bh_fpga_stats *st);

#endif
