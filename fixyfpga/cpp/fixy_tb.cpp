// fixyfpga testbench: for an engine, loads tb_data/weights.u32 (the weight stream, as a task file's
// payload) through the top's load mode, after a short, a long and an aborted stream (each must end with
// its outcome in the status register, having read every word it was given); feeds tb_data/inputs.i64
// through the top function and compares every output element with tb_data/expected.i64, the QKeras
// model's outputs as raw integers. Exits non-zero on any mismatch, so Vitis HLS csim_design and the plain
// g++ build both fail loudly.
#include <cstdio>
#include <vector>

#include "fixy_io.h"

extern "C" int fixy_run(const long long *in, long long *out, int n_images);
extern "C" long long fixy_load_stream(const unsigned int *words, int n, int tlast);

template <class T> static std::vector<T> read_all(const char *path) {
    std::vector<T> data;
    FILE *f = std::fopen(path, "rb");
    if (!f) return data;
    T v;
    while (std::fread(&v, sizeof(v), 1, f) == 1) data.push_back(v);
    std::fclose(f);
    return data;
}

#ifdef FIXY_ENGINE
// One load call on `words` (TLAST on the last when `tlast`): it must end with outcome `want` having read
// every word, so nothing is left in the stream to shift the next load.
static int check_load(const char *what, const std::vector<unsigned int> &words, int tlast, unsigned want) {
    long long status = fixy_load_stream(words.data(), (int)words.size(), tlast);
    unsigned outcome = status < 0 ? 0xFFu : (unsigned)(status & ((1u << FIXY_STATUS_OUTCOME_BITS) - 1));
    long long got = status < 0 ? -1 : (status >> FIXY_STATUS_OUTCOME_BITS);
    bool ok = status >= 0 && outcome == want && got == (long long)words.size();
    std::printf("FIXY LOAD: %s stream of %d words: outcome %u (want %u), %lld words read%s\n", what,
                (int)words.size(), outcome, want, got, ok ? "" : " <-- WRONG");
    return ok ? 0 : 1;
}
#endif

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "tb_data";
    char path[1024];
    std::snprintf(path, sizeof(path), "%s/inputs.i64", dir);
    std::vector<long long> in = read_all<long long>(path);
    std::snprintf(path, sizeof(path), "%s/expected.i64", dir);
    std::vector<long long> expected = read_all<long long>(path);
    const long long n_in = (long long)fixy::IN_BEATS * fixy::IN_PACK, n_out = fixy::OUT_ELEMS;
    if (in.empty() || in.size() % n_in != 0 || expected.size() != in.size() / n_in * n_out) {
        std::printf("FIXY TB ERROR: missing or inconsistent data in %s\n", dir);
        return 2;
    }
    if (fixy::WEIGHT_WORDS > 0) {
        std::snprintf(path, sizeof(path), "%s/weights.u32", dir);
        std::vector<unsigned int> words = read_all<unsigned int>(path);
        if ((int)words.size() != fixy::WEIGHT_WORDS) {
            std::printf("FIXY TB ERROR: %s/weights.u32 has %d words, the engine takes %d\n", dir, (int)words.size(),
                        fixy::WEIGHT_WORDS);
            return 2;
        }
#ifdef FIXY_ENGINE
        int wrong = 0;
        if (words.size() > 1)
            wrong += check_load("short", std::vector<unsigned int>(words.begin(), words.end() - 1), 1, FIXY_LOAD_SHORT);
        std::vector<unsigned int> longer(words);
        longer.insert(longer.end(), {0xA5A5A5A5u, 0x5A5A5A5Au, 0xFFFFFFFFu});   // a task for a larger engine
        wrong += check_load("long", longer, 1, FIXY_LOAD_LONG);
        wrong += check_load("aborted", std::vector<unsigned int>(words.begin(), words.begin() + (words.size() + 1) / 2),
                            0, FIXY_LOAD_ABORTED);
        wrong += check_load("full", words, 1, FIXY_LOAD_OK);
        if (wrong) {
            std::printf("FIXY TB ERROR: the load mode reported %d weight stream(s) wrongly\n", wrong);
            return 4;
        }
#endif
    }
    const int n_images = (int)(in.size() / n_in);
    std::vector<long long> out(expected.size());
    int rc = fixy_run(in.data(), out.data(), n_images);
    if (rc != 0) {
        std::printf("FIXY TB ERROR: %s\n", rc == -2 ? "TLAST not on the last word of the batch"
                                                    : "the design left data in a stream");
        return 3;
    }
    long long mismatched = 0;
    for (size_t i = 0; i < out.size(); i++) mismatched += (out[i] != expected[i]);
    std::printf("FIXY CSIM: %d inputs, %lld mismatched elements of %lld\n", n_images, mismatched, (long long)out.size());
    return mismatched == 0 ? 0 : 1;
}
