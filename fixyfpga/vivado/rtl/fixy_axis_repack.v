// fixyfpga: repack the engine's output stream for the DMA.
//
// Each input beat holds ELEMS values of IN_BITS packed back to back (value k in bits
// [k*IN_BITS +: IN_BITS]), as Vitis HLS packs an hls4ml output array. Each output beat holds the same
// values widened to OUT_BITS (sign-extended when SIGNED), so the processor reads them as plain
// int8/int16/int32 arrays, and TLAST is raised on the last beat of every image (FRAME_BEATS beats), so
// one DMA receive transfer ends per image. Pure wiring plus a beat counter: no buffering, no latency.
`timescale 1ns / 1ps
module fixy_axis_repack #(
    parameter integer ELEMS = 1,
    parameter integer IN_BITS = 8,
    parameter integer OUT_BITS = 8,
    parameter integer SIGNED = 1,
    parameter integer FRAME_BEATS = 1,
    parameter integer IN_TDATA = ((ELEMS * IN_BITS + 7) / 8) * 8,
    parameter integer OUT_TDATA = ((ELEMS * OUT_BITS + 7) / 8) * 8
) (
    (* X_INTERFACE_INFO = "xilinx.com:signal:clock:1.0 aclk CLK" *)
    (* X_INTERFACE_PARAMETER = "ASSOCIATED_BUSIF S_AXIS:M_AXIS, ASSOCIATED_RESET aresetn" *)
    input wire aclk,
    (* X_INTERFACE_INFO = "xilinx.com:signal:reset:1.0 aresetn RST" *)
    (* X_INTERFACE_PARAMETER = "POLARITY ACTIVE_LOW" *)
    input wire aresetn,
    (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 S_AXIS TDATA" *)
    input wire [IN_TDATA-1:0] s_axis_tdata,
    (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 S_AXIS TVALID" *)
    input wire s_axis_tvalid,
    (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 S_AXIS TREADY" *)
    output wire s_axis_tready,
    (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 M_AXIS TDATA" *)
    output wire [OUT_TDATA-1:0] m_axis_tdata,
    (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 M_AXIS TVALID" *)
    output wire m_axis_tvalid,
    (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 M_AXIS TREADY" *)
    input wire m_axis_tready,
    (* X_INTERFACE_INFO = "xilinx.com:interface:axis:1.0 M_AXIS TLAST" *)
    output wire m_axis_tlast
);
    localparam integer COUNT_BITS = (FRAME_BEATS > 1) ? $clog2(FRAME_BEATS) : 1;
    reg [COUNT_BITS-1:0] beat;

    genvar k;
    generate
        for (k = 0; k < ELEMS; k = k + 1) begin : lane
            wire [IN_BITS-1:0] value = s_axis_tdata[k * IN_BITS +: IN_BITS];
            if (OUT_BITS > IN_BITS) begin : widen
                wire fill = (SIGNED != 0) ? value[IN_BITS-1] : 1'b0;
                assign m_axis_tdata[k * OUT_BITS +: OUT_BITS] = {{(OUT_BITS - IN_BITS){fill}}, value};
            end else begin : keep
                assign m_axis_tdata[k * OUT_BITS +: OUT_BITS] = value;
            end
        end
        if (OUT_TDATA > ELEMS * OUT_BITS) begin : pad
            assign m_axis_tdata[OUT_TDATA-1:ELEMS * OUT_BITS] = 0;
        end
    endgenerate

    assign m_axis_tvalid = s_axis_tvalid;
    assign s_axis_tready = m_axis_tready;
    assign m_axis_tlast = (beat == FRAME_BEATS - 1);

    always @(posedge aclk) begin
        if (!aresetn) begin
            beat <= 0;
        end else if (s_axis_tvalid && m_axis_tready) begin
            beat <= (beat == FRAME_BEATS - 1) ? 0 : beat + 1;
        end
    end
endmodule
