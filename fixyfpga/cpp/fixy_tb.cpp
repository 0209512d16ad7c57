// fixyfpga testbench: feeds tb_data/inputs.i64 through the top function (weight ports loaded from
// tb_data/ports.i64 when the design has any) and compares every output element with
// tb_data/expected.i64, the QKeras model's outputs as raw integers. Exits non-zero on any mismatch,
// so Vitis HLS csim_design and the plain g++ build both fail loudly.
#include <cstdio>
#include <vector>

#include "fixy_io.h"

extern "C" int fixy_run(const long long *in, long long *out, int n_images);
extern "C" int fixy_set_port(int port, const long long *raw, int n);

static std::vector<long long> read_i64(const char *path) {
    std::vector<long long> data;
    FILE *f = std::fopen(path, "rb");
    if (!f) return data;
    long long v;
    while (std::fread(&v, sizeof(v), 1, f) == 1) data.push_back(v);
    std::fclose(f);
    return data;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "tb_data";
    char path[1024];
    std::snprintf(path, sizeof(path), "%s/inputs.i64", dir);
    std::vector<long long> in = read_i64(path);
    std::snprintf(path, sizeof(path), "%s/expected.i64", dir);
    std::vector<long long> expected = read_i64(path);
    const long long n_in = (long long)fixy::IN_BEATS * fixy::IN_PACK, n_out = (long long)fixy::OUT_BEATS * fixy::OUT_PACK;
    if (in.empty() || in.size() % n_in != 0 || expected.size() != in.size() / n_in * n_out) {
        std::printf("FIXY TB ERROR: missing or inconsistent data in %s\n", dir);
        return 2;
    }
    if (fixy::N_PORTS > 0) {
        std::snprintf(path, sizeof(path), "%s/ports.i64", dir);
        std::vector<long long> ports = read_i64(path);
        long long off = 0;
        for (int p = 0; p < fixy::N_PORTS; p++) {
            if (off + fixy::PORT_SIZE[p] > (long long)ports.size() ||
                fixy_set_port(p, ports.data() + off, fixy::PORT_SIZE[p]) != 0) {
                std::printf("FIXY TB ERROR: %s/ports.i64 does not match the engine's ports\n", dir);
                return 2;
            }
            off += fixy::PORT_SIZE[p];
        }
    }
    const int n_images = (int)(in.size() / n_in);
    std::vector<long long> out(expected.size());
    if (fixy_run(in.data(), out.data(), n_images) != 0) {
        std::printf("FIXY TB ERROR: the design left data in a stream\n");
        return 3;
    }
    long long mismatched = 0;
    for (size_t i = 0; i < out.size(); i++) mismatched += (out[i] != expected[i]);
    std::printf("FIXY CSIM: %d inputs, %lld mismatched elements of %lld\n", n_images, mismatched, (long long)out.size());
    return mismatched == 0 ? 0 : 1;
}
