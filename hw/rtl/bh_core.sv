// bh_core.sv - biohub matching core: register file, descriptor ring, DMA,
// scoring lanes, top-K and result write-back.
//
//   host (driver) --reg port--> registers --> controller FSM
//   host memory  <--host bus--> descriptor fetch, query fetch, result writes
//   device memory --dm port---> record stream --> Lanes x bh_lane --> top-K
//
// The driver puts 64-byte descriptors in a ring in host memory and moves
// RegRingHead; the core consumes them in order (RegRingTail).  Each descriptor
// scores nq <= Lanes queries (one per lane) against n records streamed once
// from device memory, then writes each lane's top-K and a completion line to
// host memory and raises the DONE interrupt.  Any error (malformed
// descriptor, gallery outside device memory, host bus error, watchdog) stops
// the core with RegErrCode/RegErrInfo set until the driver clears or resets
// it.  Lane query memories are scrubbed at the end of every job, failed or
// not: queries are probe data.  Formats: docs/HARDWARE.md.
module bh_core #(
  parameter int unsigned Lanes    = 32,
  parameter int unsigned KMAX     = 32,
  parameter int unsigned MaxBeats = 8,   // longest record: MaxBeats * 64 bytes
  parameter int unsigned Burst    = 16,  // device memory burst, beats
  localparam int unsigned BeatW   = $clog2(MaxBeats),
  localparam int unsigned LaneW   = Lanes > 1 ? $clog2(Lanes) : 1,
  localparam int unsigned WordW   = (KMAX + 7) / 8 > 1 ? $clog2((KMAX + 7) / 8) : 1
) (
  input  logic         clk_i,
  input  logic         rst_ni,
  // register port (32-bit, combinational read, write on the clock edge)
  input  logic         reg_req_i,
  input  logic         reg_we_i,
  input  logic [7:0]   reg_addr_i,
  input  logic [31:0]  reg_wdata_i,
  output logic [31:0]  reg_rdata_o,
  output logic         irq_o,
  // host memory bus: in-order, one response per request (writes included)
  output logic         hb_req_valid_o,
  input  logic         hb_req_ready_i,
  output logic         hb_req_we_o,
  output logic [63:0]  hb_req_addr_o,
  output logic [511:0] hb_req_wdata_o,
  input  logic         hb_rsp_valid_i,
  input  logic         hb_rsp_err_i,
  input  logic [511:0] hb_rsp_rdata_i,
  // device memory read port: a request asks for `beats` consecutive beats,
  // returned in order; the core always accepts a returned beat
  output logic         dm_req_valid_o,
  input  logic         dm_req_ready_i,
  output logic [39:0]  dm_req_addr_o,
  output logic [7:0]   dm_req_beats_o,
  input  logic         dm_rsp_valid_i,
  input  logic [511:0] dm_rsp_data_i,
  input  logic [31:0]  devmem_beats_i,   // strap: device memory size / 64
  output logic         dma_flush_o       // soft reset: drop in-flight transfers
);

  typedef enum logic [3:0] {
    StIdle, StDescReq, StDescWait, StCheck, StQuery, StStream, StDrain,
    StWrite, StWriteWait, StScrub, StError
  } state_e;

  typedef enum logic [1:0] {ScrubDone, ScrubFail, ScrubReset} scrub_e;

  localparam int unsigned HbMaxOut = 32;

  // ------------------------------------------------------------------------
  // Registers
  // ------------------------------------------------------------------------
  state_e       state_q, state_d;
  scrub_e       scrub_next_q, scrub_next_d;
  logic         enable_q;
  logic [7:0]   err_code_q, err_code_d, err_info_q, err_info_d;
  logic [1:0]   irq_status_q, irq_enable_q;
  logic [63:0]  ring_base_q;
  logic [3:0]   ring_log2_q;
  logic [15:0]  ring_head_q, ring_tail_q, ring_mask;
  logic [31:0]  watchdog_q;
  logic [63:0]  cyc_q, rec_q;
  logic [31:0]  jobs_q, errors_q, last_cycles_q, stall_q, job_cyc_q, wd_q;

  logic reg_wr, soft_rst, err_clear;
  assign reg_wr    = reg_req_i && reg_we_i;
  assign soft_rst  = reg_wr && reg_addr_i == bh_pkg::RegControl && reg_wdata_i[1];
  assign err_clear = reg_wr && reg_addr_i == bh_pkg::RegControl && reg_wdata_i[2];
  assign ring_mask = 16'((32'd1 << ring_log2_q) - 1);
  assign dma_flush_o = soft_rst;

  always_comb begin
    reg_rdata_o = '0;
    case (reg_addr_i)
      bh_pkg::RegId:          reg_rdata_o = bh_pkg::CoreId;
      bh_pkg::RegVersion:     reg_rdata_o = bh_pkg::CoreVersion;
      bh_pkg::RegConfig:      reg_rdata_o = {8'd0, 8'(MaxBeats), 8'(KMAX), 8'(Lanes)};
      bh_pkg::RegControl:     reg_rdata_o = {31'd0, enable_q};
      bh_pkg::RegStatus:      reg_rdata_o = {20'd0, state_q, 5'd0, state_q == StError,
                                             state_q == StError, state_q != StIdle};
      bh_pkg::RegErrCode:     reg_rdata_o = {24'd0, err_code_q};
      bh_pkg::RegErrInfo:     reg_rdata_o = {24'd0, err_info_q};
      bh_pkg::RegIrqStatus:   reg_rdata_o = {30'd0, irq_status_q};
      bh_pkg::RegIrqEnable:   reg_rdata_o = {30'd0, irq_enable_q};
      bh_pkg::RegRingBaseLo:  reg_rdata_o = ring_base_q[31:0];
      bh_pkg::RegRingBaseHi:  reg_rdata_o = ring_base_q[63:32];
      bh_pkg::RegRingLog2:    reg_rdata_o = {28'd0, ring_log2_q};
      bh_pkg::RegRingHead:    reg_rdata_o = {16'd0, ring_head_q};
      bh_pkg::RegRingTail:    reg_rdata_o = {16'd0, ring_tail_q};
      bh_pkg::RegWatchdog:    reg_rdata_o = watchdog_q;
      bh_pkg::RegDevmemBeats: reg_rdata_o = devmem_beats_i;
      bh_pkg::RegCycLo:       reg_rdata_o = cyc_q[31:0];
      bh_pkg::RegCycHi:       reg_rdata_o = cyc_q[63:32];
      bh_pkg::RegJobs:        reg_rdata_o = jobs_q;
      bh_pkg::RegRecLo:       reg_rdata_o = rec_q[31:0];
      bh_pkg::RegRecHi:       reg_rdata_o = rec_q[63:32];
      bh_pkg::RegErrors:      reg_rdata_o = errors_q;
      bh_pkg::RegLastCycles:  reg_rdata_o = last_cycles_q;
      bh_pkg::RegStallCyc:    reg_rdata_o = stall_q;
      default:                reg_rdata_o = '0;
    endcase
  end

  assign irq_o = |(irq_status_q & irq_enable_q);

  // ------------------------------------------------------------------------
  // Descriptor (64 bytes, little endian; see docs/HARDWARE.md)
  // ------------------------------------------------------------------------
  logic [511:0] desc_q;
  logic [15:0]  d_magic;
  logic [7:0]   d_flags, d_opcode;
  logic [31:0]  d_kernel, d_dim, d_stride, d_n, d_nq, d_k, d_tag;
  logic [63:0]  d_gallery, d_query, d_result, d_after;
  logic         d_ham, d_after_en;

  assign d_opcode   = desc_q[7:0];
  assign d_flags    = desc_q[15:8];
  assign d_magic    = desc_q[31:16];
  assign d_kernel   = desc_q[32 +: 32];
  assign d_dim      = desc_q[64 +: 32];
  assign d_stride   = desc_q[96 +: 32];
  assign d_gallery  = desc_q[128 +: 64];
  assign d_n        = desc_q[192 +: 32];
  assign d_nq       = desc_q[224 +: 32];
  assign d_query    = desc_q[256 +: 64];
  assign d_result   = desc_q[320 +: 64];
  assign d_after    = desc_q[384 +: 64];
  assign d_k        = desc_q[448 +: 32];
  assign d_tag      = desc_q[480 +: 32];
  assign d_ham      = d_kernel == 32'(bh_pkg::KernelHam);
  assign d_after_en = d_flags[bh_pkg::FlagAfterEn];

  // Derived sizes (valid once the descriptor passed StCheck).
  logic [31:0] bpr;          // beats per record
  logic [31:0] kw;           // result lines per lane
  logic [31:0] n_qbeats;     // query lines
  logic [31:0] n_aftw;       // "after" lines
  logic [39:0] total_beats;  // record beats to stream
  logic [31:0] dim_bits;
  assign bpr         = {6'd0, d_stride[31:6]};
  assign kw          = (d_k + 32'd7) >> 3;
  assign n_qbeats    = d_nq * bpr;
  assign n_aftw      = d_after_en ? (d_nq + 32'd7) >> 3 : 32'd0;
  assign total_beats = 40'(d_n) * 40'(bpr);
  assign dim_bits    = d_ham ? d_dim : d_dim << 3;

  // Validation, in field order; the first failing field is reported.
  logic [7:0] check_err, check_info;
  logic [40:0] gallery_end;
  assign gallery_end = 41'(d_gallery[45:6]) + 41'(total_beats);

  always_comb begin
    check_err  = bh_pkg::ErrNone;
    check_info = 8'd0;
    if (d_magic != bh_pkg::DescMagic) begin
      check_err = bh_pkg::ErrDesc; check_info = bh_pkg::FieldMagic;
    end else if (d_opcode != bh_pkg::OpSearch) begin
      check_err = bh_pkg::ErrDesc; check_info = bh_pkg::FieldOpcode;
    end else if (d_kernel != 32'(bh_pkg::KernelDot) && d_kernel != 32'(bh_pkg::KernelHam)) begin
      check_err = bh_pkg::ErrDesc; check_info = bh_pkg::FieldKernel;
    end else if (d_dim == 0 || (d_ham ? d_dim[5:0] != 0 : d_dim[4:0] != 0)) begin
      check_err = bh_pkg::ErrDesc; check_info = bh_pkg::FieldDim;
    end else if (d_stride == 0 || d_stride[5:0] != 0 || d_stride > 32'(MaxBeats * 64) ||
                 (d_ham ? d_dim > (d_stride << 3) : d_dim > d_stride)) begin
      check_err = bh_pkg::ErrDesc; check_info = bh_pkg::FieldStride;
    end else if (d_nq == 0 || d_nq > 32'(Lanes)) begin
      check_err = bh_pkg::ErrDesc; check_info = bh_pkg::FieldNq;
    end else if (d_k == 0 || d_k > 32'(KMAX)) begin
      check_err = bh_pkg::ErrDesc; check_info = bh_pkg::FieldK;
    end else if (d_gallery[5:0] != 0 || d_query[5:0] != 0 || d_result[5:0] != 0 ||
                 (d_after_en && d_after[5:0] != 0)) begin
      check_err = bh_pkg::ErrDesc; check_info = bh_pkg::FieldAlign;
    end else if (d_gallery[63:46] != 0 || gallery_end > 41'(devmem_beats_i)) begin
      check_err = bh_pkg::ErrDmaRange; check_info = 8'd0;
    end
  end

  // Mask of the bits of beat `b` that lie inside `dim` (record and query
  // padding never contribute to a score).
  function automatic logic [511:0] beat_mask(input logic [31:0] b, input logic [31:0] bits);
    logic [31:0]  lo;
    logic [511:0] m;
    lo = b << 9;
    if (bits >= lo + 32'd512) m = {512{1'b1}};
    else if (bits <= lo) m = {512{1'b0}};
    else m = (512'd1 << (bits - lo)) - 512'd1;
    beat_mask = m;
  endfunction

  // ------------------------------------------------------------------------
  // Counters of the job in progress
  // ------------------------------------------------------------------------
  logic [31:0] qreq_q, qreq_d, qrsp_q, qrsp_d;       // query/after lines
  logic [31:0] rlane_q, rlane_d, rbeat_q, rbeat_d;   // where the next line goes
  logic [39:0] dreq_q, dreq_d, drx_q, drx_d;         // record beats requested/received
  logic [31:0] rxb_q, rxb_d, rxrow_q, rxrow_d;       // beat within record, row
  logic [31:0] wb_q, wb_d, wbl_q, wbl_d, wbw_q, wbw_d;  // result lines: count, lane, word
  logic [BeatW:0] scrub_q, scrub_d;
  logic [7:0]  hb_out_q;
  logic [3:0]  drain_q, drain_d;

  logic hb_fire, dm_fire, lanes_busy;
  assign hb_fire = hb_req_valid_o && hb_req_ready_i;
  assign dm_fire = dm_req_valid_o && dm_req_ready_i;

  // ------------------------------------------------------------------------
  // Lanes
  // ------------------------------------------------------------------------
  logic [Lanes-1:0]     lane_busy, lane_q_we, lane_after_we;
  logic [Lanes*512-1:0] lane_rd;
  logic [BeatW-1:0]     q_widx;
  logic [511:0]         q_wdata;
  logic [Lanes*32-1:0]  after_score, after_row;
  logic                 lanes_clear;

  // Record beat broadcast (registered).
  logic                 bc_valid_q, bc_last_q;
  logic [511:0]         bc_data_q;
  logic [BeatW-1:0]     bc_idx_q;
  logic [31:0]          bc_row_q;

  for (genvar l = 0; l < Lanes; l++) begin : g_lane
    bh_lane #(.MaxBeats(MaxBeats), .KMAX(KMAX)) u_lane (
      .clk_i,
      .rst_ni,
      .clear_i       (lanes_clear),
      .enable_i      (32'(l) < d_nq),
      .ham_i         (d_ham),
      .dim_i         (d_dim),
      .q_we_i        (lane_q_we[l]),
      .q_widx_i      (q_widx),
      .q_wdata_i     (q_wdata),
      .after_en_i    (d_after_en),
      .after_we_i    (lane_after_we[l]),
      .after_score_i (after_score[l*32 +: 32]),
      .after_row_i   (after_row[l*32 +: 32]),
      .beat_valid_i  (bc_valid_q),
      .beat_data_i   (bc_data_q),
      .beat_idx_i    (bc_idx_q),
      .beat_last_i   (bc_last_q),
      .beat_row_i    (bc_row_q),
      .busy_o        (lane_busy[l]),
      .rd_word_i     (WordW'(wbw_q)),
      .rd_data_o     (lane_rd[l*512 +: 512])
    );
  end
  assign lanes_busy = |lane_busy;

  // Query lines go to lane rlane, word rbeat; "after" lines carry 8 lanes
  // each ({row, score} per 8 bytes).  Scrub writes zeros to every lane.
  always_comb begin
    lane_q_we     = '0;
    lane_after_we = '0;
    q_widx        = BeatW'(rbeat_q);
    q_wdata       = hb_rsp_rdata_i & beat_mask(rbeat_q, dim_bits);
    after_score   = '0;
    after_row     = '0;
    if (state_q == StScrub) begin
      lane_q_we = '1;
      q_widx    = BeatW'(scrub_q);
      q_wdata   = '0;
    end else if (state_q == StQuery && hb_rsp_valid_i && !hb_rsp_err_i) begin
      if (qrsp_q < n_qbeats) begin
        lane_q_we[LaneW'(rlane_q)] = 1'b1;
      end else begin
        for (int l = 0; l < Lanes; l++) begin
          lane_after_we[l]      = 32'(l / 8) == qrsp_q - n_qbeats;
          after_score[l*32 +: 32] = hb_rsp_rdata_i[(l % 8) * 64 +: 32];
          after_row[l*32 +: 32]   = hb_rsp_rdata_i[(l % 8) * 64 + 32 +: 32];
        end
      end
    end
  end

  // ------------------------------------------------------------------------
  // Bus requests
  // ------------------------------------------------------------------------
  always_comb begin
    hb_req_valid_o = 1'b0;
    hb_req_we_o    = 1'b0;
    hb_req_addr_o  = '0;
    hb_req_wdata_o = '0;
    case (state_q)
      StDescReq: begin
        hb_req_valid_o = 1'b1;
        hb_req_addr_o  = ring_base_q + {42'd0, ring_tail_q & ring_mask, 6'd0};
      end
      StQuery: begin
        hb_req_valid_o = qreq_q < n_qbeats + n_aftw && hb_out_q < 8'(HbMaxOut);
        hb_req_addr_o  = qreq_q < n_qbeats ? d_query + {26'd0, qreq_q, 6'd0}
                                           : d_after + {26'd0, qreq_q - n_qbeats, 6'd0};
      end
      StWrite: begin
        hb_req_valid_o = hb_out_q < 8'(HbMaxOut);
        hb_req_we_o    = 1'b1;
        if (wb_q < d_nq * kw) begin
          hb_req_addr_o  = d_result + {26'd0, wb_q + 32'd1, 6'd0};
          hb_req_wdata_o = lane_rd[LaneW'(wbl_q) * 512 +: 512];
        end else begin
          // Completion line, written last: the host bus keeps order, so the
          // driver sees every result line before it sees the magic.
          hb_req_addr_o  = d_result;
          hb_req_wdata_o = {256'd0, d_k, d_n, 32'd0, job_cyc_q, d_nq, 32'd0, d_tag,
                            bh_pkg::DoneMagic};
        end
      end
      default: ;
    endcase
  end

  assign dm_req_valid_o = state_q == StStream && dreq_q < total_beats;
  assign dm_req_addr_o  = d_gallery[39:0] + {dreq_q[33:0], 6'd0};
  assign dm_req_beats_o = total_beats - dreq_q >= 40'(Burst) ? 8'(Burst)
                                                             : 8'(total_beats - dreq_q);

  // ------------------------------------------------------------------------
  // Controller
  // ------------------------------------------------------------------------
  logic wd_expired, progress;
  assign progress   = hb_fire || dm_fire || hb_rsp_valid_i || dm_rsp_valid_i;
  assign wd_expired = watchdog_q != 0 && wd_q >= watchdog_q;

  always_comb begin
    state_d      = state_q;
    scrub_next_d = scrub_next_q;
    err_code_d   = err_code_q;
    err_info_d   = err_info_q;
    qreq_d  = qreq_q;  qrsp_d  = qrsp_q;
    rlane_d = rlane_q; rbeat_d = rbeat_q;
    dreq_d  = dreq_q;  drx_d   = drx_q;
    rxb_d   = rxb_q;   rxrow_d = rxrow_q;
    wb_d    = wb_q;    wbl_d   = wbl_q;  wbw_d = wbw_q;
    scrub_d = scrub_q;
    drain_d = drain_q;
    lanes_clear = 1'b0;

    case (state_q)
      StIdle: begin
        if (enable_q && ring_head_q != ring_tail_q) state_d = StDescReq;
      end
      StDescReq: begin
        if (hb_fire) state_d = StDescWait;
      end
      StDescWait: begin
        if (hb_rsp_valid_i && !hb_rsp_err_i) state_d = StCheck;
      end
      StCheck: begin
        qreq_d = '0; qrsp_d = '0; rlane_d = '0; rbeat_d = '0;
        dreq_d = '0; drx_d = '0; rxb_d = '0; rxrow_d = '0;
        wb_d = '0; wbl_d = '0; wbw_d = '0;
        lanes_clear = 1'b1;
        if (check_err != bh_pkg::ErrNone) begin
          err_code_d = check_err;
          err_info_d = check_info;
        end else begin
          state_d = StQuery;
        end
      end
      StQuery: begin
        if (hb_fire) qreq_d = qreq_q + 1;
        if (hb_rsp_valid_i && !hb_rsp_err_i) begin
          qrsp_d = qrsp_q + 1;
          if (rbeat_q + 1 == bpr) begin
            rbeat_d = '0;
            rlane_d = rlane_q + 1;
          end else begin
            rbeat_d = rbeat_q + 1;
          end
          if (qrsp_q + 1 == n_qbeats + n_aftw) state_d = StStream;
        end
      end
      StStream: begin
        if (dm_fire) dreq_d = dreq_q + 40'(dm_req_beats_o);
        if (dm_rsp_valid_i) begin
          drx_d = drx_q + 1;
          if (rxb_q + 1 == bpr) begin
            rxb_d   = '0;
            rxrow_d = rxrow_q + 1;
          end else begin
            rxb_d = rxb_q + 1;
          end
        end
        if (drx_d == total_beats) begin
          state_d = StDrain;
          drain_d = '0;
        end
      end
      StDrain: begin
        // The broadcast register and the lane pipelines empty in a few cycles.
        drain_d = drain_q + 1;
        if (!bc_valid_q && !lanes_busy && drain_q > 4'd1) state_d = StWrite;
      end
      StWrite: begin
        if (hb_fire) begin
          wb_d = wb_q + 1;
          if (wbw_q + 1 == kw) begin
            wbw_d = '0;
            wbl_d = wbl_q + 1;
          end else begin
            wbw_d = wbw_q + 1;
          end
          if (wb_q == d_nq * kw) state_d = StWriteWait;
        end
      end
      StWriteWait: begin
        if (hb_out_q == 0 || (hb_out_q == 1 && hb_rsp_valid_i)) begin
          state_d      = StScrub;
          scrub_next_d = ScrubDone;
          scrub_d      = '0;
        end
      end
      StScrub: begin
        scrub_d = scrub_q + 1;
        if (scrub_q == (BeatW+1)'(MaxBeats - 1)) begin
          case (scrub_next_q)
            ScrubDone: state_d = StIdle;
            ScrubFail: state_d = StError;
            default:   state_d = StIdle;
          endcase
        end
      end
      StError: begin
        if (err_clear) begin
          state_d    = StIdle;
          err_code_d = bh_pkg::ErrNone;
          err_info_d = '0;
        end
      end
      default: state_d = StError;
    endcase

    // Failures: a descriptor check, a refused host access, the watchdog.
    // All of them scrub the lanes before halting.
    if (state_q != StScrub && state_q != StError && state_q != StIdle) begin
      logic [7:0] fail;
      fail = bh_pkg::ErrNone;
      if (state_q == StCheck && check_err != bh_pkg::ErrNone) fail = check_err;
      else if (hb_rsp_valid_i && hb_rsp_err_i) fail = bh_pkg::ErrHostBus;
      else if (wd_expired) fail = bh_pkg::ErrTimeout;
      if (fail != bh_pkg::ErrNone) begin
        err_code_d   = fail;
        if (fail != bh_pkg::ErrDesc) err_info_d = {4'd0, state_q};
        state_d      = StScrub;
        scrub_next_d = ScrubFail;
        scrub_d      = '0;
      end
    end

    if (soft_rst) begin
      state_d      = StScrub;
      scrub_next_d = ScrubReset;
      scrub_d      = '0;
      err_code_d   = bh_pkg::ErrNone;
      err_info_d   = '0;
      lanes_clear  = 1'b1;
    end
  end

  // Broadcast register: mask the beat once for all lanes.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      bc_valid_q <= 1'b0;
      bc_last_q  <= 1'b0;
      bc_data_q  <= '0;
      bc_idx_q   <= '0;
      bc_row_q   <= '0;
    end else begin
      bc_valid_q <= state_q == StStream && dm_rsp_valid_i && !soft_rst;
      if (state_q == StStream && dm_rsp_valid_i) begin
        bc_last_q <= rxb_q + 1 == bpr;
        bc_data_q <= dm_rsp_data_i & beat_mask(rxb_q, dim_bits);
        bc_idx_q  <= BeatW'(rxb_q);
        bc_row_q  <= rxrow_q;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q       <= StIdle;
      scrub_next_q  <= ScrubDone;
      enable_q      <= 1'b0;
      err_code_q    <= bh_pkg::ErrNone;
      err_info_q    <= '0;
      irq_status_q  <= '0;
      irq_enable_q  <= '0;
      ring_base_q   <= '0;
      ring_log2_q   <= '0;
      ring_head_q   <= '0;
      ring_tail_q   <= '0;
      watchdog_q    <= '0;
      cyc_q         <= '0;
      rec_q         <= '0;
      jobs_q        <= '0;
      errors_q      <= '0;
      last_cycles_q <= '0;
      stall_q       <= '0;
      job_cyc_q     <= '0;
      wd_q          <= '0;
      desc_q        <= '0;
      qreq_q <= '0; qrsp_q <= '0; rlane_q <= '0; rbeat_q <= '0;
      dreq_q <= '0; drx_q <= '0; rxb_q <= '0; rxrow_q <= '0;
      wb_q <= '0; wbl_q <= '0; wbw_q <= '0;
      scrub_q  <= '0;
      drain_q  <= '0;
      hb_out_q <= '0;
    end else begin
      state_q      <= state_d;
      scrub_next_q <= scrub_next_d;
      err_code_q   <= err_code_d;
      err_info_q   <= err_info_d;
      qreq_q <= qreq_d; qrsp_q <= qrsp_d; rlane_q <= rlane_d; rbeat_q <= rbeat_d;
      dreq_q <= dreq_d; drx_q <= drx_d; rxb_q <= rxb_d; rxrow_q <= rxrow_d;
      wb_q <= wb_d; wbl_q <= wbl_d; wbw_q <= wbw_d;
      scrub_q <= scrub_d;
      drain_q <= drain_d;
      cyc_q   <= cyc_q + 1;

      if (state_q == StDescWait && hb_rsp_valid_i) desc_q <= hb_rsp_rdata_i;

      // Outstanding host requests (responses keep arriving after a failure;
      // a soft reset flushes them in the bus model too).
      if (soft_rst) hb_out_q <= '0;
      else hb_out_q <= hb_out_q + 8'(hb_fire) - 8'(hb_rsp_valid_i);

      // Job cycle counter and watchdog.
      if (state_q == StIdle) job_cyc_q <= '0;
      else if (state_q != StError) job_cyc_q <= job_cyc_q + 1;
      if (progress || state_q == StIdle || state_q == StError || state_q == StScrub) wd_q <= '0;
      else wd_q <= wd_q + 1;

      if (state_q == StStream && drx_q < total_beats && !dm_rsp_valid_i) stall_q <= stall_q + 1;
      if (bc_valid_q && bc_last_q) rec_q <= rec_q + 1;

      // Completion / failure bookkeeping.
      if (state_q == StScrub && state_d != StScrub) begin
        if (scrub_next_q == ScrubDone) begin
          ring_tail_q     <= (ring_tail_q + 1) & ring_mask;
          jobs_q          <= jobs_q + 1;
          last_cycles_q   <= job_cyc_q;
          irq_status_q[0] <= 1'b1;
        end else if (scrub_next_q == ScrubFail) begin
          errors_q        <= errors_q + 1;
          irq_status_q[1] <= 1'b1;
        end
      end

      // Register writes (soft reset last: it wins).
      if (reg_wr) begin
        case (reg_addr_i)
          bh_pkg::RegControl:    enable_q <= reg_wdata_i[0];
          bh_pkg::RegIrqStatus:  irq_status_q <= irq_status_q & ~reg_wdata_i[1:0];
          bh_pkg::RegIrqEnable:  irq_enable_q <= reg_wdata_i[1:0];
          bh_pkg::RegRingBaseLo: ring_base_q[31:0] <= {reg_wdata_i[31:6], 6'd0};
          bh_pkg::RegRingBaseHi: ring_base_q[63:32] <= reg_wdata_i;
          bh_pkg::RegRingLog2:   ring_log2_q <= reg_wdata_i[3:0];
          bh_pkg::RegRingHead:   ring_head_q <= reg_wdata_i[15:0] & ring_mask;
          bh_pkg::RegWatchdog:   watchdog_q <= reg_wdata_i;
          default: ;
        endcase
      end
      if (soft_rst) begin
        ring_head_q  <= '0;
        ring_tail_q  <= '0;
        irq_status_q <= '0;
      end
    end
  end

`ifndef SYNTHESIS
  // Device memory only answers what was asked for; write-back stays in range.
  a_dm_asked: assert property (@(posedge clk_i) disable iff (!rst_ni)
    dm_rsp_valid_i && state_q == StStream |-> drx_q < dreq_q);
  a_wb_lane: assert property (@(posedge clk_i) disable iff (!rst_ni)
    state_q == StWrite |-> wbl_q < d_nq || wb_q == d_nq * kw);
  a_hb_out: assert property (@(posedge clk_i) disable iff (!rst_ni) hb_out_q <= 8'(HbMaxOut));
`endif

endmodule
