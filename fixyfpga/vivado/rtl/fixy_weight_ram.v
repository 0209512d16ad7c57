// fixyfpga: one engine weight memory, written by the processor and read by the engine.
//
// Port A (BRAM_A) faces an AXI BRAM Controller: 32-bit words, byte addresses, byte write enables.
// Port B (BRAM_B) faces the engine's BRAM interface (Vitis HLS `bram` mode), read only. Value i of the
// engine's array lives in word i / (32 / ELEM_BITS), lane i % (32 / ELEM_BITS) (ELEM_BITS = 8, 16 or
// 32), which is how the runtime packs a task. The engine's address is a byte address when its port is
// 32 bits wide (Vitis HLS 2023.1 and later: address of value n = n * ceil(PORT_DATA_BITS / 8)), and a
// value index otherwise; the block design sets PORT_ADDR_BITS and PORT_DATA_BITS from the IP's pins.
// Read latency is one cycle on both ports, as both interfaces expect.
`timescale 1ns / 1ps
module fixy_weight_ram #(
    parameter integer WORDS = 1024,
    parameter integer ELEM_BITS = 8,
    parameter integer PORT_ADDR_BITS = 32,
    parameter integer PORT_DATA_BITS = 8,
    parameter integer PORT_WE_BITS = 1
) (
    (* X_INTERFACE_INFO = "xilinx.com:interface:bram:1.0 BRAM_A CLK" *)
    (* X_INTERFACE_PARAMETER = "MASTER_TYPE BRAM_CTRL, MEM_WIDTH 32, READ_LATENCY 1" *)
    input wire clka,
    (* X_INTERFACE_INFO = "xilinx.com:interface:bram:1.0 BRAM_A RST" *)
    input wire rsta,
    (* X_INTERFACE_INFO = "xilinx.com:interface:bram:1.0 BRAM_A EN" *)
    input wire ena,
    (* X_INTERFACE_INFO = "xilinx.com:interface:bram:1.0 BRAM_A WE" *)
    input wire [3:0] wea,
    (* X_INTERFACE_INFO = "xilinx.com:interface:bram:1.0 BRAM_A ADDR" *)
    input wire [31:0] addra,
    (* X_INTERFACE_INFO = "xilinx.com:interface:bram:1.0 BRAM_A DIN" *)
    input wire [31:0] dina,
    (* X_INTERFACE_INFO = "xilinx.com:interface:bram:1.0 BRAM_A DOUT" *)
    output reg [31:0] douta,
    (* X_INTERFACE_INFO = "xilinx.com:interface:bram:1.0 BRAM_B CLK" *)
    (* X_INTERFACE_PARAMETER = "MASTER_TYPE OTHER, READ_LATENCY 1" *)
    input wire clkb,
    (* X_INTERFACE_INFO = "xilinx.com:interface:bram:1.0 BRAM_B RST" *)
    input wire rstb,
    (* X_INTERFACE_INFO = "xilinx.com:interface:bram:1.0 BRAM_B EN" *)
    input wire enb,
    (* X_INTERFACE_INFO = "xilinx.com:interface:bram:1.0 BRAM_B WE" *)
    input wire [PORT_WE_BITS-1:0] web,
    (* X_INTERFACE_INFO = "xilinx.com:interface:bram:1.0 BRAM_B ADDR" *)
    input wire [PORT_ADDR_BITS-1:0] addrb,
    (* X_INTERFACE_INFO = "xilinx.com:interface:bram:1.0 BRAM_B DIN" *)
    input wire [PORT_DATA_BITS-1:0] dinb,
    (* X_INTERFACE_INFO = "xilinx.com:interface:bram:1.0 BRAM_B DOUT" *)
    output wire [PORT_DATA_BITS-1:0] doutb
);
    localparam integer LANES = 32 / ELEM_BITS;
    localparam integer LANE_BITS = (LANES > 1) ? $clog2(LANES) : 1;
    localparam integer WORD_ADDR_BITS = (WORDS > 1) ? $clog2(WORDS) : 1;
    localparam integer PORT_BYTES = (PORT_DATA_BITS + 7) / 8;

    (* ram_style = "block" *) reg [31:0] mem [0:WORDS-1];

    // Port A: the processor (byte address, 32-bit words).
    wire [WORD_ADDR_BITS-1:0] word_a = addra[WORD_ADDR_BITS+1:2];
    integer b;
    always @(posedge clka) begin
        if (ena) begin
            for (b = 0; b < 4; b = b + 1)
                if (wea[b]) mem[word_a][b*8 +: 8] <= dina[b*8 +: 8];
            douta <= mem[word_a];
        end
    end

    // Port B: the engine (value index, or byte address of value n = n * PORT_BYTES).
    wire [31:0] index_b = (PORT_ADDR_BITS == 32) ? (addrb / PORT_BYTES) : addrb;
    wire [WORD_ADDR_BITS-1:0] word_b = (LANES > 1) ? index_b[WORD_ADDR_BITS+LANE_BITS-1:LANE_BITS] : index_b[WORD_ADDR_BITS-1:0];
    reg [31:0] word_out;
    reg [LANE_BITS-1:0] lane_out;
    always @(posedge clkb) begin
        if (enb) begin
            word_out <= mem[word_b];
            lane_out <= (LANES > 1) ? index_b[LANE_BITS-1:0] : 0;
        end
    end
    wire [ELEM_BITS-1:0] value = word_out[lane_out * ELEM_BITS +: ELEM_BITS];
    assign doutb = value[PORT_DATA_BITS-1:0];
endmodule
