// fixyfpga testbench: for an engine, loads tb_data/weights.u32 (the weight stream, as a task file's
// payload) through the top's load mode; feeds tb_data/inputs.i64 through the top function and compares
// every output element with tb_data/expected.i64, the QKeras model's outputs as raw integers. Exits
// non-zero on any mismatch, so Vitis HLS csim_design and the plain g++ build both fail loudly.
#include <cstdio>
#include <vector>

#include "fixy_io.h"

extern "C" int fixy_run(const long long *in, long long *out, int n_images);
extern "C" int fixy_load(const unsigned int *words, int n);

template <class T> static std::vector<T> read_all(const char *path) {
    std::vector<T> data;
    FILE *f = std::fopen(path, "rb");
    if (!f) return data;
    T v;
    while (std::fread(&v, sizeof(v), 1, f) == 1) data.push_back(v);
    std::fclose(f);
    return data;
}

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
        if (fixy_load(words.data(), (int)words.size()) != 0) {
            std::printf("FIXY TB ERROR: %s/weights.u32 has %d words, the engine takes %d\n", dir, (int)words.size(),
                        fixy::WEIGHT_WORDS);
            return 2;
        }
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
