/*
 * bh_sim.h - the simulated matching device: the Verilator model of hw/rtl
 * (bh_core) plus a device model around it.  C interface over C++ glue.
 *
 * Device model (one clock, the core clock):
 *   host memory    a window of `host_bytes` at bus address BH_SIM_HOST_BASE,
 *                  in-order, one 64-byte line per request, `host_latency`
 *                  cycles per request (pipelined: up to 64 outstanding);
 *                  an access outside the window gets an error response
 *                  (what an IOMMU fault looks like to the core).
 *   device memory  `dev` bytes at device address 0, read-only for the core,
 *                  bursts of beats, `dev_latency` cycles to the first beat,
 *                  at most `dev_bytes_per_cycle` bytes per cycle (token
 *                  bucket, <= 64: the port is one beat wide), up to
 *                  `dev_max_reqs` bursts outstanding.
 * Faults for tests: bh_sim_set_stall() stops device memory answering.
 *
 * A bh_sim is single-threaded: one thread drives it at a time.
 */
#ifndef BH_SIM_H
#define BH_SIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BH_SIM_HOST_BASE 0x100000000ull

typedef struct bh_sim_config {
	uint32_t host_bytes;          /* multiple of 64 */
	uint32_t host_latency;        /* cycles */
	uint32_t dev_latency;         /* cycles */
	uint32_t dev_bytes_per_cycle; /* 1..64 */
	uint32_t dev_max_reqs;        /* outstanding bursts */
} bh_sim_config;

typedef struct bh_sim bh_sim;

/* BH_OK, BH_EINVAL (bad config) or BH_ENOMEM. */
int bh_sim_open(const bh_sim_config *cfg, bh_sim **out);
/* Wipes both memories and frees everything. */
void bh_sim_close(bh_sim *s);

/* Register access: a read is combinational (no clock), a write takes one
 * clock cycle. */
uint32_t bh_sim_reg_read(bh_sim *s, uint32_t off);
void bh_sim_reg_write(bh_sim *s, uint32_t off, uint32_t v);

/* Clocks the device until its interrupt line is high or max_cycles passed;
 * returns the cycles run. */
uint64_t bh_sim_run(bh_sim *s, uint64_t max_cycles);
int bh_sim_irq(bh_sim *s);
uint64_t bh_sim_cycles(const bh_sim *s);

/* Host memory window (driver side view). */
uint8_t *bh_sim_host(bh_sim *s, size_t *size);
/* Replaces device memory by `bytes` zero bytes (multiple of 64) and sets the
 * core's size strap; BH_ENOMEM or BH_ETOOBIG (> 2^32 beats). */
int bh_sim_dev_alloc(bh_sim *s, size_t bytes);
uint8_t *bh_sim_dev(bh_sim *s, size_t *size);

void bh_sim_set_stall(bh_sim *s, int on);

#ifdef __cplusplus
}
#endif

#endif
