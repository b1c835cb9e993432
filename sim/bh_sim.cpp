// bh_sim.cpp - device model around the Verilated bh_core (see bh_sim.h).
#include "bh_sim.h"

#include <Vbh_core.h>
#include <verilated.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <new>

extern "C" {
#include "bh_err.h"
#include "bh_mem.h"
}

namespace {

constexpr unsigned kLine = 64;
constexpr unsigned kWords = kLine / 4;  // 32-bit words of a VlWide<16>
constexpr size_t kHostMaxOut = 64;

struct HostRsp {
	uint64_t ready;  // cycle from which it may be returned
	bool err;
	uint8_t data[kLine];
};

struct DevReq {
	uint64_t ready;
	uint64_t addr;
	uint32_t beats;
};

template <typename W> void wide_from(W &w, const uint8_t *p)
{
	for (unsigned i = 0; i < kWords; i++) {
		uint32_t v;
		memcpy(&v, p + 4 * i, 4);
		w[i] = v;
	}
}

template <typename W> void wide_to(uint8_t *p, const W &w)
{
	for (unsigned i = 0; i < kWords; i++) {
		uint32_t v = w[i];
		memcpy(p + 4 * i, &v, 4);
	}
}

}  // namespace

struct bh_sim {
	bh_sim_config cfg;
	VerilatedContext *ctx = nullptr;
	Vbh_core *top = nullptr;
	uint64_t cycle = 0;

	uint8_t *host = nullptr;
	uint8_t *dev = nullptr;
	size_t dev_bytes = 0;

	std::deque<HostRsp> host_q;
	std::deque<DevReq> dev_q;
	uint32_t dev_tokens = 0;  // bytes the device memory may deliver now
	bool stall = false;      // injected fault: device memory stops answering
	bool dev_broken = false; // the core asked for bytes outside device memory

	void step();
	void flush()
	{
		host_q.clear();
		dev_q.clear();
		dev_broken = false;
	}
};

// One core clock: present the responses due this cycle, let the core's
// combinational outputs settle, take its requests, then clock the edge.
void bh_sim::step()
{
	Vbh_core &t = *top;

	bool host_rsp = !host_q.empty() && host_q.front().ready <= cycle;
	t.hb_rsp_valid_i = host_rsp;
	t.hb_rsp_err_i = host_rsp && host_q.front().err;
	if (host_rsp)
		wide_from(t.hb_rsp_rdata_i, host_q.front().data);
	t.hb_req_ready_i = host_q.size() < kHostMaxOut;

	if (dev_tokens < 2 * kLine)
		dev_tokens += cfg.dev_bytes_per_cycle;
	bool dev_rsp = !stall && !dev_broken && !dev_q.empty() && dev_q.front().ready <= cycle && dev_tokens >= kLine;
	t.dm_rsp_valid_i = dev_rsp;
	if (dev_rsp) {
		DevReq &r = dev_q.front();
		wide_from(t.dm_rsp_data_i, dev + r.addr);
		dev_tokens -= kLine;
	}
	t.dm_req_ready_i = dev_q.size() < cfg.dev_max_reqs;

	t.clk_i = 0;
	t.eval();

	bool flush_now = t.dma_flush_o;
	bool host_req = t.hb_req_valid_o && t.hb_req_ready_i;
	HostRsp hr{};
	if (host_req) {
		uint64_t a = t.hb_req_addr_o;
		hr.ready = cycle + cfg.host_latency;
		hr.err = a < BH_SIM_HOST_BASE || a - BH_SIM_HOST_BASE > cfg.host_bytes - kLine || a % kLine;
		if (!hr.err) {
			uint8_t *p = host + (a - BH_SIM_HOST_BASE);
			if (t.hb_req_we_o)
				wide_to(p, t.hb_req_wdata_o);
			else
				memcpy(hr.data, p, kLine);
		}
	}
	bool dev_req = t.dm_req_valid_o && t.dm_req_ready_i;
	DevReq dr{cycle + cfg.dev_latency, t.dm_req_addr_o, t.dm_req_beats_o};

	t.clk_i = 1;
	t.eval();
	cycle++;

	if (host_rsp)
		host_q.pop_front();
	if (dev_rsp) {
		DevReq &r = dev_q.front();
		r.addr += kLine;
		if (--r.beats == 0)
			dev_q.pop_front();
	}
	if (flush_now) {
		flush();
		return;
	}
	if (host_req)
		host_q.push_back(hr);
	if (dev_req) {
		// The core checked the range; the model checks again rather than
		// read outside its array if the RTL were wrong.
		if (dr.beats && dr.addr + (uint64_t)dr.beats * kLine <= dev_bytes)
			dev_q.push_back(dr);
		else
			dev_broken = true;  // a real memory would hang or fault: the watchdog sees it
	}
}

extern "C" {

int bh_sim_open(const bh_sim_config *cfg, bh_sim **out)
{
	*out = nullptr;
	if (!cfg || cfg->host_bytes < kLine || cfg->host_bytes % kLine || !cfg->dev_bytes_per_cycle ||
	    cfg->dev_bytes_per_cycle > kLine || !cfg->dev_max_reqs)
		return bh_fail(BH_EINVAL, "fpga sim: bad device model configuration");
	bh_sim *s = new (std::nothrow) bh_sim;
	if (!s)
		return BH_ENOMEM;
	s->cfg = *cfg;
	s->host = static_cast<uint8_t *>(bh_aligned_zalloc(cfg->host_bytes));
	s->ctx = new (std::nothrow) VerilatedContext;
	if (!s->host || !s->ctx) {
		bh_sim_close(s);
		return BH_ENOMEM;
	}
	s->ctx->fatalOnError(true);
	s->top = new (std::nothrow) Vbh_core(s->ctx, "bh_core");
	if (!s->top) {
		bh_sim_close(s);
		return BH_ENOMEM;
	}
	Vbh_core &t = *s->top;
	t.clk_i = 1;
	t.rst_ni = 1;
	t.reg_req_i = 0;
	t.devmem_beats_i = 0;
	t.eval();
	t.rst_ni = 0;  // asynchronous reset, held over two clocks
	t.eval();
	s->step();
	s->step();
	t.rst_ni = 1;
	t.eval();
	s->step();
	*out = s;
	return BH_OK;
}

void bh_sim_close(bh_sim *s)
{
	if (!s)
		return;
	if (s->top)
		s->top->final();
	delete s->top;
	delete s->ctx;
	bh_wipe_aligned_free(s->host, s->cfg.host_bytes);
	bh_wipe_aligned_free(s->dev, s->dev_bytes);
	for (HostRsp &r : s->host_q)
		bh_wipe(r.data, sizeof r.data);
	delete s;
}

uint32_t bh_sim_reg_read(bh_sim *s, uint32_t off)
{
	Vbh_core &t = *s->top;
	t.reg_req_i = 1;
	t.reg_we_i = 0;
	t.reg_addr_i = off & 0xff;
	t.eval();
	uint32_t v = t.reg_rdata_o;
	t.reg_req_i = 0;
	t.eval();
	return v;
}

void bh_sim_reg_write(bh_sim *s, uint32_t off, uint32_t v)
{
	Vbh_core &t = *s->top;
	t.reg_req_i = 1;
	t.reg_we_i = 1;
	t.reg_addr_i = off & 0xff;
	t.reg_wdata_i = v;
	s->step();
	t.reg_req_i = 0;
	t.reg_we_i = 0;
	t.eval();
}

uint64_t bh_sim_run(bh_sim *s, uint64_t max_cycles)
{
	uint64_t n = 0;
	while (n < max_cycles && !s->top->irq_o) {
		s->step();
		n++;
	}
	return n;
}

int bh_sim_irq(bh_sim *s) { return s->top->irq_o; }

uint64_t bh_sim_cycles(const bh_sim *s) { return s->cycle; }

uint8_t *bh_sim_host(bh_sim *s, size_t *size)
{
	*size = s->cfg.host_bytes;
	return s->host;
}

int bh_sim_dev_alloc(bh_sim *s, size_t bytes)
{
	if (bytes % kLine || bytes / kLine > UINT32_MAX)
		return bh_fail(BH_ETOOBIG, "fpga sim: device memory of %zu bytes", bytes);
	s->dev_q.clear();
	bh_wipe_aligned_free(s->dev, s->dev_bytes);
	s->dev = nullptr;
	s->dev_bytes = 0;
	s->top->devmem_beats_i = 0;
	// One spare line keeps the allocation non-empty for an empty shard.
	uint8_t *p = static_cast<uint8_t *>(bh_aligned_zalloc(bytes + kLine));
	if (!p)
		return BH_ENOMEM;
	s->dev = p;
	s->dev_bytes = bytes;
	s->top->devmem_beats_i = (uint32_t)(bytes / kLine);
	s->top->eval();
	return BH_OK;
}

uint8_t *bh_sim_dev(bh_sim *s, size_t *size)
{
	*size = s->dev_bytes;
	return s->dev;
}

void bh_sim_set_stall(bh_sim *s, int on) { s->stall = on != 0; }

}  // extern "C"
