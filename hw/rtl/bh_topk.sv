// bh_topk.sv - streaming exact top-K of (score, row) candidates.
//
// Keeps the KMAX best candidates seen since clear_i, sorted best first in a
// shift register.  "Better" is the engine's total order: higher score, then
// lower row.  The driver stores records sorted by id, so row order is id order
// and the tie rule matches the software backends bit for bit.
//
// One candidate per cycle: every slot compares itself with the candidate in
// parallel; because the list is sorted, the slots the candidate beats form a
// suffix, so slot i takes the candidate if it is the first beaten slot and
// its upper neighbour otherwise (the worst entry falls off the end).
//
// Read port: word rd_word_i returns slots 8w..8w+7 as a 64-byte line of
// {row[31:0], score[31:0]} pairs (little endian); empty slots read as
// row 0xFFFFFFFF, score 0x80000000.
module bh_topk #(
  parameter int unsigned KMAX = 32,
  localparam int unsigned WordW = (KMAX + 7) / 8 > 1 ? $clog2((KMAX + 7) / 8) : 1
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,
  input  logic                    clear_i,
  input  logic                    cand_valid_i,
  input  logic [31:0]             cand_score_i,  // signed
  input  logic [31:0]             cand_row_i,
  input  logic [WordW-1:0]        rd_word_i,
  output logic [511:0]            rd_data_o
);

  logic [KMAX-1:0]    valid_q, valid_d;
  logic [KMAX*32-1:0] score_q, score_d;
  logic [KMAX*32-1:0] row_q, row_d;
  logic [KMAX-1:0]    beats;  // candidate is better than slot i (or slot i empty)

  always_comb begin
    valid_d = valid_q;
    score_d = score_q;
    row_d   = row_q;
    beats   = '0;
    if (cand_valid_i) begin
      for (int i = 0; i < KMAX; i++) begin
        beats[i] = !valid_q[i] ||
                   ($signed(cand_score_i) > $signed(score_q[i*32 +: 32])) ||
                   (cand_score_i == score_q[i*32 +: 32] && cand_row_i < row_q[i*32 +: 32]);
      end
      if (beats[0]) begin
        valid_d[0]       = 1'b1;
        score_d[0 +: 32] = cand_score_i;
        row_d[0 +: 32]   = cand_row_i;
      end
      for (int i = 1; i < KMAX; i++) begin
        if (beats[i]) begin
          if (!beats[i-1]) begin
            valid_d[i]          = 1'b1;
            score_d[i*32 +: 32] = cand_score_i;
            row_d[i*32 +: 32]   = cand_row_i;
          end else begin
            valid_d[i]          = valid_q[i-1];
            score_d[i*32 +: 32] = score_q[(i-1)*32 +: 32];
            row_d[i*32 +: 32]   = row_q[(i-1)*32 +: 32];
          end
        end
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_q <= '0;
      score_q <= '0;
      row_q   <= '0;
    end else if (clear_i) begin
      valid_q <= '0;
    end else if (cand_valid_i) begin
      valid_q <= valid_d;
      score_q <= score_d;
      row_q   <= row_d;
    end
  end

  always_comb begin
    rd_data_o = '0;
    for (int j = 0; j < 8; j++) begin
      if (32'(rd_word_i) * 8 + j < KMAX) begin
        if (valid_q[32'(rd_word_i) * 8 + j]) begin
          rd_data_o[j*64 +: 32]      = score_q[(32'(rd_word_i) * 8 + j) * 32 +: 32];
          rd_data_o[j*64 + 32 +: 32] = row_q[(32'(rd_word_i) * 8 + j) * 32 +: 32];
        end else begin
          rd_data_o[j*64 +: 32]      = 32'h8000_0000;
          rd_data_o[j*64 + 32 +: 32] = 32'hFFFF_FFFF;
        end
      end else begin
        rd_data_o[j*64 +: 64] = {32'hFFFF_FFFF, 32'h8000_0000};
      end
    end
  end

`ifndef SYNTHESIS
  // The list stays sorted, so the slots a candidate beats always form a suffix.
  a_suffix: assert property (@(posedge clk_i) disable iff (!rst_ni)
    cand_valid_i |-> (beats & (beats << 1)) == (beats << 1));
`endif

endmodule
