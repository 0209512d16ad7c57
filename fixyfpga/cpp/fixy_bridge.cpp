// fixyfpga C-simulation bridge: runs an hls4ml io_stream top function on raw fixed-point integers.
//
// Everything crossing this boundary is a raw integer (value * 2^frac) in int64, so nothing is rounded
// on the way in or out. The model-specific part (types, top call, weight ports) is in fixy_io.h,
// written by fixyfpga for each project.
#include "fixy_io.h"

extern "C" {

int fixy_in_elems() { return fixy::IN_BEATS * fixy::IN_PACK; }
int fixy_out_elems() { return fixy::OUT_BEATS * fixy::OUT_PACK; }
int fixy_n_ports() { return fixy::N_PORTS; }
int fixy_port_size(int port) { return (port >= 0 && port < fixy::N_PORTS) ? fixy::PORT_SIZE[port] : -1; }

// Write one weight port; returns 0, or -1 for a bad port index or size (nothing is written then).
int fixy_set_port(int port, const long long *raw, int n) {
    if (port < 0 || port >= fixy::N_PORTS || n != fixy::PORT_SIZE[port]) return -1;
    fixy::set_port(port, raw);
    return 0;
}

// Run n_images images; in holds n_images * fixy_in_elems() raw inputs, out receives the raw outputs.
// Returns 0, or -1 if the design left data in a stream (a stream-size bug in the design).
int fixy_run(const long long *in, long long *out, int n_images) {
    for (int img = 0; img < n_images; img++) {
        hls::stream<fixy::in_pack_t> s_in("fixy_in");
        hls::stream<fixy::out_pack_t> s_out("fixy_out");
        const long long *src = in + (long long)img * fixy::IN_BEATS * fixy::IN_PACK;
        for (int b = 0; b < fixy::IN_BEATS; b++) {
            fixy::in_pack_t pack;
            for (int c = 0; c < fixy::IN_PACK; c++) fixy::from_raw(pack[c], src[b * fixy::IN_PACK + c], fixy::IN_FRAC);
            s_in.write(pack);
        }
        fixy::top(s_in, s_out);
        long long *dst = out + (long long)img * fixy::OUT_BEATS * fixy::OUT_PACK;
        for (int b = 0; b < fixy::OUT_BEATS; b++) {
            if (s_out.empty()) return -1;
            fixy::out_pack_t pack = s_out.read();
            for (int c = 0; c < fixy::OUT_PACK; c++) dst[b * fixy::OUT_PACK + c] = fixy::to_raw(pack[c], fixy::OUT_FRAC);
        }
        if (!s_in.empty() || !s_out.empty()) return -1;
    }
    return 0;
}

}  // extern "C"
