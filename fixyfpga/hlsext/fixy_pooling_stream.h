// fixyfpga: max / average pooling over a stream of pixels (one beat = all channels of a pixel) with any
// pool size, strides and padding, as Keras computes it: padding never wins a max and is left out of an
// average's count (every window's count is a power of two, checked by the kit; the division is then an
// exact shift into accum_t, which has log2(largest count) more fractional bits than the input).
//
// The loop walks the padded input in raster order, one position per iteration (PIPELINE II=1): a real
// position reads the next beat, a padding position reads nothing. pool_height rows of the padded input
// are kept in a line buffer and the last pool_width columns of them in a window register; a window is
// complete at its bottom-right position, so outputs leave in raster order.
#ifndef FIXY_POOLING_STREAM_H_
#define FIXY_POOLING_STREAM_H_

#include "hls_stream.h"
#include "nnet_common.h"
#include "nnet_pooling.h"

namespace nnet {

struct fixy_pooling2d_config {
    static const unsigned in_height = 8, in_width = 8, n_filt = 1;
    static const unsigned pool_height = 2, pool_width = 2, stride_height = 2, stride_width = 2;
    static const unsigned out_height = 4, out_width = 4;
    static const unsigned pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
    static const Pool_Op pool_op = Max;
    typedef float accum_t;
};

template <class data_T, class res_T, typename CONFIG_T>
void fixy_pooling2d_cl(hls::stream<data_T> &data, hls::stream<res_T> &res) {
    static const unsigned PH = CONFIG_T::pool_height, PW = CONFIG_T::pool_width, C = CONFIG_T::n_filt;
    static const unsigned HP = CONFIG_T::pad_top + CONFIG_T::in_height + CONFIG_T::pad_bottom;
    static const unsigned WP = CONFIG_T::pad_left + CONFIG_T::in_width + CONFIG_T::pad_right;
    typedef typename data_T::value_type value_t;
    typedef typename CONFIG_T::accum_t accum_t;

    value_t line[PH][WP][C];
    bool line_ok[PH][WP];
    #pragma HLS ARRAY_PARTITION variable=line complete dim=1
    #pragma HLS ARRAY_PARTITION variable=line complete dim=3
    #pragma HLS ARRAY_PARTITION variable=line_ok complete dim=1
    value_t win[PH][PW][C];
    bool win_ok[PH][PW];
    #pragma HLS ARRAY_PARTITION variable=win complete dim=0
    #pragma HLS ARRAY_PARTITION variable=win_ok complete dim=0

PaddedRows:
    for (unsigned r = 0; r < HP; r++) {
    PaddedColumns:
        for (unsigned c = 0; c < WP; c++) {
            #pragma HLS PIPELINE II=1
            const bool real = r >= CONFIG_T::pad_top && r < CONFIG_T::pad_top + CONFIG_T::in_height &&
                              c >= CONFIG_T::pad_left && c < CONFIG_T::pad_left + CONFIG_T::in_width;
            data_T in_pixel;
            if (real) {
                in_pixel = data.read();
            }
            const unsigned slot = r % PH;
        StoreLine:
            for (unsigned ch = 0; ch < C; ch++) {
                #pragma HLS UNROLL
                line[slot][c][ch] = real ? static_cast<value_t>(in_pixel[ch]) : static_cast<value_t>(0);
            }
            line_ok[slot][c] = real;

        ShiftWindow:
            for (unsigned i = 0; i < PH; i++) {
                #pragma HLS UNROLL
                for (unsigned j = 0; j + 1 < PW; j++) {
                    #pragma HLS UNROLL
                    win_ok[i][j] = win_ok[i][j + 1];
                    for (unsigned ch = 0; ch < C; ch++) {
                        #pragma HLS UNROLL
                        win[i][j][ch] = win[i][j + 1][ch];
                    }
                }
                // Window row i is padded row r - (PH - 1) + i.
                const int row = (int)r - (int)(PH - 1) + (int)i;
                const unsigned s = row >= 0 ? (unsigned)row % PH : 0;
                win_ok[i][PW - 1] = row >= 0 && line_ok[s][c];
                for (unsigned ch = 0; ch < C; ch++) {
                    #pragma HLS UNROLL
                    win[i][PW - 1][ch] = line[s][c][ch];
                }
            }

            const bool done_r = r + 1 >= PH && (r + 1 - PH) % CONFIG_T::stride_height == 0 &&
                                (r + 1 - PH) / CONFIG_T::stride_height < CONFIG_T::out_height;
            const bool done_c = c + 1 >= PW && (c + 1 - PW) % CONFIG_T::stride_width == 0 &&
                                (c + 1 - PW) / CONFIG_T::stride_width < CONFIG_T::out_width;
            if (done_r && done_c) {
                unsigned count = 0;
                for (unsigned i = 0; i < PH; i++) {
                    #pragma HLS UNROLL
                    for (unsigned j = 0; j < PW; j++) {
                        #pragma HLS UNROLL
                        count += win_ok[i][j] ? 1 : 0;
                    }
                }
                // count is a power of two (checked by the kit): its log2, with a constant-bound loop.
                unsigned shift = 0;
                for (unsigned b = 1; b < 16; b++) {
                    #pragma HLS UNROLL
                    if ((1u << b) <= count) {
                        shift = b;
                    }
                }
                res_T out_pixel;
                PRAGMA_DATA_PACK(out_pixel)
            Channels:
                for (unsigned ch = 0; ch < C; ch++) {
                    #pragma HLS UNROLL
                    accum_t acc = 0;
                    bool any = false;
                    for (unsigned i = 0; i < PH; i++) {
                        #pragma HLS UNROLL
                        for (unsigned j = 0; j < PW; j++) {
                            #pragma HLS UNROLL
                            if (!win_ok[i][j]) {
                                continue;
                            }
                            const accum_t v = win[i][j][ch];
                            if (CONFIG_T::pool_op == Max) {
                                if (!any || v > acc) {
                                    acc = v;
                                }
                            } else {
                                acc += v;
                            }
                            any = true;
                        }
                    }
                    if (CONFIG_T::pool_op != Max) {
                        acc = acc >> shift;
                    }
                    out_pixel[ch] = acc;
                }
                res.write(out_pixel);
            }
        }
    }
}

} // namespace nnet

#endif
