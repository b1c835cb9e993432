// bh_pkg.sv - constants shared by the biohub matching core (bh_core).
//
// Register map, descriptor and completion formats are documented in
// docs/HARDWARE.md and mirrored by sim/bh_fpga_regs.h; keep all three in step.
// (Yosys 0.23 cannot `import` a package, so modules refer to bh_pkg::NAME.)
package bh_pkg;

  // Identification.
  localparam logic [31:0] CoreId      = 32'h424D_4843;  // "BHMC"
  localparam logic [31:0] CoreVersion = 32'h0001_0000;  // 1.0.0

  // Register offsets (bytes; 32-bit registers).
  localparam logic [7:0] RegId          = 8'h00;
  localparam logic [7:0] RegVersion     = 8'h04;
  localparam logic [7:0] RegConfig      = 8'h08;  // lanes | kmax<<8 | max_beats<<16
  localparam logic [7:0] RegControl     = 8'h0C;  // [0] enable [1] soft reset [2] error clear
  localparam logic [7:0] RegStatus      = 8'h10;  // [0] busy [1] error [2] halted [11:8] state
  localparam logic [7:0] RegErrCode     = 8'h14;
  localparam logic [7:0] RegErrInfo     = 8'h18;
  localparam logic [7:0] RegIrqStatus   = 8'h1C;  // W1C: [0] done [1] error
  localparam logic [7:0] RegIrqEnable   = 8'h20;
  localparam logic [7:0] RegRingBaseLo  = 8'h24;
  localparam logic [7:0] RegRingBaseHi  = 8'h28;
  localparam logic [7:0] RegRingLog2    = 8'h2C;  // log2(entries), 0..15
  localparam logic [7:0] RegRingHead    = 8'h30;  // producer index (driver)
  localparam logic [7:0] RegRingTail    = 8'h34;  // consumer index (core, RO)
  localparam logic [7:0] RegWatchdog    = 8'h38;  // cycles without progress; 0 = off
  localparam logic [7:0] RegDevmemBeats = 8'h3C;  // device memory size / 64 (RO)
  localparam logic [7:0] RegCycLo       = 8'h40;  // free-running cycle counter
  localparam logic [7:0] RegCycHi       = 8'h44;
  localparam logic [7:0] RegJobs        = 8'h48;  // descriptors completed
  localparam logic [7:0] RegRecLo       = 8'h4C;  // records streamed
  localparam logic [7:0] RegRecHi       = 8'h50;
  localparam logic [7:0] RegErrors      = 8'h54;  // descriptors failed
  localparam logic [7:0] RegLastCycles  = 8'h58;  // cycles of the last completed job
  localparam logic [7:0] RegStallCyc    = 8'h5C;  // stream cycles without a beat

  // Error codes (RegErrCode, completion.err).
  localparam logic [7:0] ErrNone     = 8'd0;
  localparam logic [7:0] ErrDesc     = 8'd1;  // malformed descriptor; ErrInfo = field
  localparam logic [7:0] ErrDmaRange = 8'd2;  // gallery outside device memory
  localparam logic [7:0] ErrHostBus  = 8'd3;  // host memory access refused
  localparam logic [7:0] ErrTimeout  = 8'd4;  // watchdog expired

  // Descriptor field ids reported in RegErrInfo with ErrDesc.
  localparam logic [7:0] FieldMagic  = 8'd1;
  localparam logic [7:0] FieldOpcode = 8'd2;
  localparam logic [7:0] FieldKernel = 8'd3;
  localparam logic [7:0] FieldDim    = 8'd4;
  localparam logic [7:0] FieldStride = 8'd5;
  localparam logic [7:0] FieldNq     = 8'd6;
  localparam logic [7:0] FieldK      = 8'd7;
  localparam logic [7:0] FieldAlign  = 8'd8;

  // Descriptor word 0: magic in [31:16], flags in [15:8], opcode in [7:0].
  localparam logic [15:0] DescMagic   = 16'hB10D;
  localparam logic [7:0]  OpSearch    = 8'd1;
  localparam logic [7:0]  KernelDot   = 8'd1;
  localparam logic [7:0]  KernelHam   = 8'd2;
  localparam int unsigned FlagAfterEn = 0;  // bit of the flags byte

  localparam logic [31:0] DoneMagic = 32'h4E44_4842;  // "BHDN"

endpackage
