// bh_lane.sv - one scoring lane: holds one query and scores it against every
// record beat the core broadcasts, then keeps the top-K of that query.
//
// Pipeline (no back-pressure: a lane takes one beat every cycle):
//   A  beat_*_i arrive (registered by the core); query word read (sync RAM)
//   B  beat and query word aligned; 8 group partials computed
//        HAMMING: popcount of 64-bit groups of (q XOR r)
//        DOT_I8 : sums of 8 int8 x int8 products
//   C  partials summed and accumulated over the beats of a record; on the
//      last beat the score is final (HAMMING: dim - distance)
//   D  top-K insert, unless the candidate fails the "after" filter
// The core masks both record and query bits beyond `dim` to zero, so the
// padding of a row never contributes.
module bh_lane #(
  parameter int unsigned MaxBeats = 8,
  parameter int unsigned KMAX     = 32,
  localparam int unsigned BeatW   = $clog2(MaxBeats),
  localparam int unsigned WordW   = (KMAX + 7) / 8 > 1 ? $clog2((KMAX + 7) / 8) : 1
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  // job set-up
  input  logic             clear_i,      // start of a job: empty top-K
  input  logic             enable_i,     // lane holds a query in this job
  input  logic             ham_i,        // 1 = HAMMING, 0 = DOT_I8
  input  logic [31:0]      dim_i,
  // query memory write port (query load and scrub)
  input  logic             q_we_i,
  input  logic [BeatW-1:0] q_widx_i,
  input  logic [511:0]     q_wdata_i,
  // "after" filter: only candidates strictly worse than (score,row) count
  input  logic             after_en_i,
  input  logic             after_we_i,
  input  logic [31:0]      after_score_i,
  input  logic [31:0]      after_row_i,
  // record beat stream (broadcast)
  input  logic             beat_valid_i,
  input  logic [511:0]     beat_data_i,
  input  logic [BeatW-1:0] beat_idx_i,
  input  logic             beat_last_i,
  input  logic [31:0]      beat_row_i,
  output logic             busy_o,
  // result read port
  input  logic [WordW-1:0] rd_word_i,
  output logic [511:0]     rd_data_o
);

  // ---- query memory (one 64-byte word per beat of a record) ----
  logic [511:0] qmem_q [MaxBeats];
  logic [511:0] qword_q;

  always_ff @(posedge clk_i) begin
    if (q_we_i) qmem_q[q_widx_i] <= q_wdata_i;
    qword_q <= qmem_q[beat_idx_i];
  end

  // ---- stage B: aligned beat ----
  logic         b_valid_q, b_last_q;
  logic [511:0] b_data_q;
  logic [31:0]  b_row_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      b_valid_q <= 1'b0;
      b_last_q  <= 1'b0;
      b_data_q  <= '0;
      b_row_q   <= '0;
    end else begin
      b_valid_q <= beat_valid_i && enable_i;
      if (beat_valid_i && enable_i) begin
        b_last_q <= beat_last_i;
        b_data_q <= beat_data_i;
        b_row_q  <= beat_row_i;
      end
    end
  end

  // 8 group partials, each a signed 20-bit value.
  logic [8*20-1:0]    part_d;
  logic signed [15:0] prod;
  logic signed [19:0] gsum;

  always_comb begin
    part_d = '0;
    prod   = '0;
    gsum   = '0;
    if (b_valid_q) begin
      for (int g = 0; g < 8; g++) begin
        if (ham_i) begin
          part_d[g*20 +: 20] = 20'($countones(qword_q[g*64 +: 64] ^ b_data_q[g*64 +: 64]));
        end else begin
          gsum = '0;
          for (int e = 0; e < 8; e++) begin
            prod = $signed(qword_q[(g*8+e)*8 +: 8]) * $signed(b_data_q[(g*8+e)*8 +: 8]);
            gsum = gsum + {{4{prod[15]}}, prod};
          end
          part_d[g*20 +: 20] = gsum;
        end
      end
    end
  end

  // ---- stage C: sum + accumulate over the record's beats ----
  logic            c_valid_q, c_last_q;
  logic [8*20-1:0] c_part_q;
  logic [31:0]     c_row_q;
  logic [31:0]     acc_q, acc_d, sum_d;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      c_valid_q <= 1'b0;
      c_last_q  <= 1'b0;
      c_part_q  <= '0;
      c_row_q   <= '0;
    end else begin
      c_valid_q <= b_valid_q;
      if (b_valid_q) begin
        c_last_q <= b_last_q;
        c_part_q <= part_d;
        c_row_q  <= b_row_q;
      end
    end
  end

  always_comb begin
    sum_d = '0;
    for (int g = 0; g < 8; g++) begin
      sum_d = sum_d + {{12{c_part_q[g*20 + 19]}}, c_part_q[g*20 +: 20]};
    end
    acc_d = acc_q + sum_d;
  end

  // ---- stage D: candidate ----
  logic        d_valid_q;
  logic [31:0] d_score_q, d_row_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      acc_q     <= '0;
      d_valid_q <= 1'b0;
      d_score_q <= '0;
      d_row_q   <= '0;
    end else if (clear_i) begin
      acc_q     <= '0;
      d_valid_q <= 1'b0;
    end else begin
      d_valid_q <= c_valid_q && c_last_q;
      if (c_valid_q) begin
        acc_q <= c_last_q ? 32'd0 : acc_d;
        if (c_last_q) begin
          d_score_q <= ham_i ? dim_i - acc_d : acc_d;
          d_row_q   <= c_row_q;
        end
      end
    end
  end

  // ---- "after" filter for multi-pass top-K (K > KMAX) ----
  logic [31:0] after_score_q, after_row_q;
  logic        keep;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      after_score_q <= '0;
      after_row_q   <= '0;
    end else if (after_we_i) begin
      after_score_q <= after_score_i;
      after_row_q   <= after_row_i;
    end
  end

  assign keep = !after_en_i ||
                ($signed(after_score_q) > $signed(d_score_q)) ||
                (after_score_q == d_score_q && after_row_q < d_row_q);

  bh_topk #(.KMAX(KMAX)) u_topk (
    .clk_i,
    .rst_ni,
    .clear_i,
    .cand_valid_i (d_valid_q && keep),
    .cand_score_i (d_score_q),
    .cand_row_i   (d_row_q),
    .rd_word_i,
    .rd_data_o
  );

  assign busy_o = b_valid_q || c_valid_q || d_valid_q;

`ifndef SYNTHESIS
  // A HAMMING score is a count of equal bits: 0..dim.
  a_ham_range: assert property (@(posedge clk_i) disable iff (!rst_ni)
    d_valid_q && ham_i |-> !d_score_q[31] && d_score_q <= dim_i);
`endif

endmodule
