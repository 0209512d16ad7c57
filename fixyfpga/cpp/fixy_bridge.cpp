// fixyfpga C-simulation bridge: runs an IP's top function on raw fixed-point integers.
//
// Everything crossing this boundary is a raw integer (value * 2^frac) in int64, or for the engine's
// weight and score streams the 32-bit words of fixyfpga.engine's interface, so nothing is rounded on the
// way in or out. The model-specific part is in fixy_io.h, written by fixyfpga for each project. The
// engine is driven exactly as the processor drives it: weights through its load mode (mode 1, one word
// stream), images through its inference mode (mode 0, n_images per call, TLAST on the batch's last word).
#include "fixy_io.h"

extern "C" {

int fixy_in_elems() { return fixy::IN_BEATS * fixy::IN_PACK; }
int fixy_out_elems() { return fixy::OUT_ELEMS; }
int fixy_weight_words() { return fixy::WEIGHT_WORDS; }

static void push_inputs(hls::stream<fixy::in_pack_t> &s_in, const long long *src, int n_images) {
    for (long long b = 0; b < (long long)n_images * fixy::IN_BEATS; b++) {
        fixy::in_pack_t pack;
        for (int c = 0; c < fixy::IN_PACK; c++) fixy::from_raw(pack[c], src[b * fixy::IN_PACK + c], fixy::IN_FRAC);
        s_in.write(pack);
    }
}

#ifdef FIXY_ENGINE
// One call of the engine's load mode on a stream of n 32-bit words, TLAST on the last one when `tlast`
// (as a DMA transfer ends; without it the stream stops, as an aborted transfer does). Returns the status
// register the call writes (fixyfpga.engine.interface: outcome in bits 3..0, words read above), or -1 if
// the engine left words of the stream unread (it must read through TLAST, or to the stream's end).
long long fixy_load_stream(const unsigned int *words, int n, int tlast) {
    hls::stream<fixy_word_t> s_w("fixy_weights");
    for (int i = 0; i < n; i++) {
        fixy_word_t w;
        w.data = words[i];
        w.keep = -1;
        w.strb = -1;
        w.last = tlast && (i == n - 1);
        s_w.write(w);
    }
    unsigned status = fixy::load(s_w);
    return s_w.empty() ? (long long)status : -1;
}

// Run n_images images in one call of the engine. Returns 0; -1 if the design left data in a stream or
// produced too few words; -2 if TLAST is not exactly on the last word of the batch.
int fixy_run(const long long *in, long long *out, int n_images) {
    hls::stream<fixy::in_pack_t> s_in("fixy_in");
    hls::stream<fixy_word_t> s_out("fixy_out");
    push_inputs(s_in, in, n_images);
    fixy::infer(s_in, s_out, n_images);
    const int per = 32 / fixy::OUT_BITS;
    const long long total = (long long)n_images * fixy::OUT_WORDS;
    for (long long w = 0; w < total; w++) {
        if (s_out.empty()) return -1;
        fixy_word_t word = s_out.read();
        if ((int)word.last != (w == total - 1)) return -2;
        const long long img = w / fixy::OUT_WORDS, first = (w % fixy::OUT_WORDS) * per;
        for (int k = 0; k < per && first + k < fixy::OUT_ELEMS; k++) {
            unsigned long long field = ((unsigned long long)(unsigned int)word.data.to_uint() >> (k * fixy::OUT_BITS))
                                       & ((fixy::OUT_BITS == 32) ? 0xFFFFFFFFull : ((1ull << fixy::OUT_BITS) - 1));
            long long v = (long long)field;
            if (fixy::OUT_SIGNED && (field >> (fixy::OUT_BITS - 1)) & 1) v -= (1ll << fixy::OUT_BITS);
            out[img * fixy::OUT_ELEMS + first + k] = v;
        }
    }
    return (s_in.empty() && s_out.empty()) ? 0 : -1;
}
// The raw score stream of one call of n_images images (n_images * OUT_WORDS words), as the DMA receives
// it (the simulated board decodes it with the runtime's driver). Returns 0, -1 or -2 as fixy_run.
int fixy_run_words(const long long *in, unsigned int *out, int n_images) {
    hls::stream<fixy::in_pack_t> s_in("fixy_in");
    hls::stream<fixy_word_t> s_out("fixy_out");
    push_inputs(s_in, in, n_images);
    fixy::infer(s_in, s_out, n_images);
    const long long total = (long long)n_images * fixy::OUT_WORDS;
    for (long long w = 0; w < total; w++) {
        if (s_out.empty()) return -1;
        fixy_word_t word = s_out.read();
        if ((int)word.last != (w == total - 1)) return -2;
        out[w] = (unsigned int)word.data.to_uint();
    }
    return (s_in.empty() && s_out.empty()) ? 0 : -1;
}
#else
long long fixy_load_stream(const unsigned int *words, int n, int tlast) {
    (void)words; (void)n; (void)tlast;
    return -1;
}
int fixy_run_words(const long long *in, unsigned int *out, int n_images) { (void)in; (void)out; (void)n_images; return -1; }

// Run n_images images through the front-end; out receives the raw outputs. Returns 0, or -1 if the
// design left data in a stream (a stream-size bug in the design).
int fixy_run(const long long *in, long long *out, int n_images) {
    for (int img = 0; img < n_images; img++) {
        hls::stream<fixy::in_pack_t> s_in("fixy_in");
        hls::stream<fixy::out_pack_t> s_out("fixy_out");
        push_inputs(s_in, in + (long long)img * fixy::IN_BEATS * fixy::IN_PACK, 1);
        fixy::top(s_in, s_out);
        long long *dst = out + (long long)img * fixy::OUT_ELEMS;
        for (int b = 0; b < fixy::OUT_BEATS; b++) {
            if (s_out.empty()) return -1;
            fixy::out_pack_t pack = s_out.read();
            for (int c = 0; c < fixy::OUT_PACK; c++) dst[b * fixy::OUT_PACK + c] = fixy::to_raw(pack[c], fixy::OUT_FRAC);
        }
        if (!s_in.empty() || !s_out.empty()) return -1;
    }
    return 0;
}
#endif

}  // extern "C"
