#!/usr/bin/env python3
"""Writes the bad-input corpus: one folder per case under tests/bad_inputs/, each holding the input files
and case.json {"command": [...], "exit": N, "message": "fragment of the error: line"}. The folders are
committed; this script documents how each file was made and regenerates them (stdlib only):

  python3 tests/bad_inputs/make_cases.py            # rewrites every generated case folder

Cases found by fuzzing (tools/fuzz.sh) are added as folders named fuzz_<loader>_<n> by hand, and cases that
need a real run folder are written by make_run_cases.py (case.json "generator"); neither is touched here. Commands run with the case folder as working directory (tools/check_bad_inputs.py).
"""
import json
import os
import shutil
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = {}


def case(name, command, message, files, exit_code=1, timeout_s=None):
    CASES[name] = (command, message, files, exit_code, timeout_s)


def npy(descr, shape_text, data=b"", fortran=False, version=1, header=None):
    if header is None:
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, "True" if fortran else "False", shape_text)
    h = header.encode()
    pad = 64 - (10 + len(h) + 1) % 64
    h = h + b" " * pad + b"\n"
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(h)) + h + data


def arr(fmt, values):
    return struct.pack("<%d%s" % (len(values), fmt), *values)


def safetensors(header, data_bytes, raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + b"\0" * data_bytes


def zip_member(content, name="m.txt", method=8, declared=None, crc=None, flags=0, packed=None):
    if packed is None:
        if method == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            packed = c.compress(content) + c.flush()
        else:
            packed = content
    size = len(content) if declared is None else declared
    crc = zlib.crc32(content) if crc is None else crc
    n = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, 0, crc, len(packed), size, len(n), 0) + n + packed
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method, 0, 0, crc, len(packed), size, len(n),
                          0, 0, 0, 0, 0, 0) + n
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + eocd


def run_json(files):
    """run.json as RunFolder::finish writes it, for the given {name: bytes}."""
    return json.dumps({"format_version": 1, "program": "run_dcvae", "stages": ["train"],
                       "files": {n: {"bytes": len(b), "crc32": "%08x" % (zlib.crc32(b) & 0xFFFFFFFF)}
                                 for n, b in sorted(files.items())}}, indent=2).encode()


# ---- npy ----------------------------------------------------------------------------------------------
L = ["load_input", "npy", "in.npy"]
case("npy_shape_overflow", L, "in.npy: shape 4 x 4611686018427387905 overflows the 64-bit element count",
     {"in.npy": npy("<f4", "(4, 4611686018427387905)", b"\0" * 16)})
case("npy_shape_overflow_three_dims", L, "overflows the 64-bit element count",
     {"in.npy": npy("<f8", "(2097152, 2097152, 2097152)", b"\0" * 8)})
case("npy_dim_past_int64", L, "out of range", {"in.npy": npy("<f4", "(99999999999999999999,)")})
case("npy_truncated_data", L, "truncated file (shape [3,4] <f4 needs 48 data bytes, the file has 8)",
     {"in.npy": npy("<f4", "(3, 4)", b"\0" * 8)})
case("npy_trailing_bytes", L, "4 unexpected bytes after the data", {"in.npy": npy("<f4", "(2,)", b"\0" * 12)})
case("npy_bad_magic", L, "not a .npy file (bad magic", {"in.npy": b"PK\x03\x04 not numpy at all"})
case("npy_empty_file", L, "not a .npy file", {"in.npy": b""})
case("npy_header_length_past_end", L, "truncated file (header length 65535",
     {"in.npy": b"\x93NUMPY\x01\x00\xff\xff{'descr'"})
case("npy_header_over_limit", L, "is over the 10000-byte limit",
     {"in.npy": b"\x93NUMPY\x02\x00" + struct.pack("<I", 20000) + b" " * 20000})
case("npy_fortran_order", L, "Fortran-order arrays are not supported", {"in.npy": npy("<f4", "(2, 2)", b"\0" * 16, fortran=True)})
case("npy_big_endian", L, "(big-endian)", {"in.npy": npy(">f4", "(2,)", b"\0" * 8)})
case("npy_object_dtype", L, "unsupported dtype '|O'", {"in.npy": npy("|O", "(2,)", b"\0" * 16)})
case("npy_six_dims", L, "more than 5 dims", {"in.npy": npy("<f4", "(1, 1, 1, 1, 1, 1)", b"\0" * 4)})
case("npy_negative_dim", L, "bad shape", {"in.npy": npy("<f4", "(-1, 2)", b"")})
case("npy_no_shape", L, "header has no 'shape'", {"in.npy": npy("<f4", "", header="{'descr': '<f4', 'fortran_order': False}")})
case("npy_version_9", L, "unsupported .npy format version 9", {"in.npy": b"\x93NUMPY\x09\x00" + b"\0" * 8})

# ---- safetensors --------------------------------------------------------------------------------------
S = ["load_input", "safetensors", "in.safetensors"]
F = lambda shape, a, b, dt="F32": {"dtype": dt, "shape": shape, "data_offsets": [a, b]}
case("st_offsets_overlap", S, "tensor \"b\": data_offsets [4, 12) overlap the previous tensor's data",
     {"in.safetensors": safetensors({"a": F([2], 0, 8), "b": F([2], 4, 12)}, 12)})
case("st_offsets_gap", S, "leave bytes [0, 4) of the data unused", {"in.safetensors": safetensors({"a": F([1], 4, 8)}, 8)})
case("st_bytes_after_last_tensor", S, "data bytes after the last tensor", {"in.safetensors": safetensors({"a": F([1], 0, 4)}, 64)})
case("st_offsets_past_end", S, "is past the end of the 4 data bytes", {"in.safetensors": safetensors({"a": F([4], 0, 16)}, 4)})
case("st_offsets_reversed", S, "end before they begin", {"in.safetensors": safetensors({"a": F([1], 8, 4)}, 8)})
case("st_shape_overflow", S, "overflows the 64-bit element count",
     {"in.safetensors": safetensors({"a": F([4, 4611686018427387905], 0, 16)}, 16)})
case("st_shape_past_int64", S, "non-negative 64-bit integers",
     {"in.safetensors": safetensors({"a": F([18446744073709551615], 0, 4)}, 4)})
case("st_size_mismatch", S, "hold 8 bytes, shape [3] F32 needs 12", {"in.safetensors": safetensors({"a": F([3], 0, 8)}, 8)})
case("st_duplicate_tensor", S, "key \"a\" appears twice",
     {"in.safetensors": safetensors(None, 4, raw_header=b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                                                        b'"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')})
case("st_deep_header", S, "header: JSON nested deeper than 64 levels",
     {"in.safetensors": safetensors(None, 0, raw_header=b'{"__metadata__":' + b"[" * 100000 + b"]" * 100000 + b"}")})
case("st_header_length_huge", S, "truncated file (header length 9223372036854775808",
     {"in.safetensors": struct.pack("<Q", 1 << 63) + b"{}"})
case("st_header_not_json", S, "header: invalid JSON", {"in.safetensors": safetensors(None, 0, raw_header=b"{nope")})
case("st_header_not_object", S, "the header must be a JSON object", {"in.safetensors": safetensors(None, 0, raw_header=b"[1,2]")})
case("st_bf16", S, "unsupported dtype \"BF16\"", {"in.safetensors": safetensors({"a": F([2], 0, 4, "BF16")}, 4)})
case("st_metadata_not_strings", S, "__metadata__ value for \"k\" must be a string",
     {"in.safetensors": safetensors({"__metadata__": {"k": 1}}, 0)})
case("st_short_file", S, "truncated file (3 bytes", {"in.safetensors": b"\x05\0\0"})

# ---- zip ----------------------------------------------------------------------------------------------
Z = ["load_input", "zip", "in.zip"]
case("zip_declares_4gib", Z, "declares 4294967294 bytes", {"in.zip": zip_member(b"hello " * 100, declared=0xFFFFFFFE)})
case("zip_ratio_bomb", Z, ":1 limit on the compression ratio", {"in.zip": zip_member(b"\0" * 400000)})
case("zip_inflates_past_declared", Z, "inflates past its declared size of 10 bytes",
     {"in.zip": zip_member(b"abc" * 100, declared=10)})
case("zip_inflates_short_of_declared", Z, "corrupt deflate data", {"in.zip": zip_member(b"abc" * 10, declared=200)})
case("zip_crc_mismatch", Z, "CRC-32 mismatch", {"in.zip": zip_member(b"some text\n" * 20, crc=0x12345678)})
case("zip_truncated", Z, "not a zip archive", {"in.zip": zip_member(b"some text\n" * 20)[:60]})
case("zip_not_a_zip", Z, "not a zip archive (no end-of-central-directory record)", {"in.zip": b"x" * 100})
case("zip_zip64_marker", Z, "ZIP64", {"in.zip": zip_member(b"abc", declared=0xFFFFFFFF)})
case("zip_encrypted", Z, "encrypted members are not supported", {"in.zip": zip_member(b"abc", flags=1)})
case("zip_method_bzip2", Z, "compression method 12 is not supported", {"in.zip": zip_member(b"abc", method=12, packed=b"abc")})
case("zip_garbage_deflate", Z, "corrupt deflate data", {"in.zip": zip_member(b"abcdef", packed=b"\xff\xff\xff\xff")})
_two = zip_member(b"a")
case("zip_directory_past_end", Z, "corrupt central directory",
     {"in.zip": _two[:-22] + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, 4000, 10, 0)})

# ---- CSR trio ------------------------------------------------------------------------------------------
def csr_case(name, message, indptr, indices, data, rows=2, cols=3, ip_fmt=("<i8", "q"), dv_fmt=("<f4", "f")):
    files = {"indptr.npy": npy(ip_fmt[0], "(%d,)" % len(indptr), arr(ip_fmt[1], indptr)),
             "indices.npy": npy("<i4", "(%d,)" % len(indices), arr("i", indices)),
             "data.npy": npy(dv_fmt[0], "(%d,)" % len(data), arr(dv_fmt[1], data))}
    case(name, ["load_input", "csr", "indptr.npy", "indices.npy", "data.npy", str(rows), str(cols)], message, files)


csr_case("csr_indptr_not_monotone", "indptr.npy: [2] = 1 is less than [1] = 2 (must never decrease)", [0, 2, 1], [0, 1], [1, 2])
csr_case("csr_indptr_past_data", "indptr.npy: [2] = 1000, expected the number of indices 2", [0, 1, 1000], [0, 1], [1, 2])
csr_case("csr_indptr_negative", "indptr.npy: [1] = -7 is less than [0] = 0", [0, -7, 2], [0, 1], [1, 2])
csr_case("csr_indptr_not_zero_first", "indptr.npy: [0] is 1, expected 0", [1, 1, 2], [0, 1], [1, 2])
csr_case("csr_indptr_float_nan", "indptr.npy: expected a 1-d integer array", [0.0, float("nan"), 2.0], [0, 1], [1, 2],
         ip_fmt=("<f8", "d"))
csr_case("csr_indptr_wrong_length", "indptr.npy: 4 entries, expected rows + 1 = 3", [0, 1, 2, 2], [0, 1], [1, 2])
csr_case("csr_index_out_of_range", "indices.npy: [1] = 3 is outside [0, 3)", [0, 1, 2], [0, 3], [1, 2])
csr_case("csr_index_negative", "indices.npy: [0] = -1 is outside [0, 3)", [0, 1, 2], [-1, 0], [1, 2])
csr_case("csr_data_nan", "data.npy: [1] is nan (values must be finite)", [0, 1, 2], [0, 1], [1, float("nan")])
csr_case("csr_data_inf", "data.npy: [0] is inf (values must be finite)", [0, 1, 2], [0, 1], [float("inf"), 1])
csr_case("csr_data_short", "data.npy: 1 values, but indices.npy has 2 indices", [0, 1, 2], [0, 1], [1])

# ---- JSON and CSV ---------------------------------------------------------------------------------------
case("json_nested_deep", ["load_input", "json", "in.json"], "in.json: JSON nested deeper than 64 levels at byte 64",
     {"in.json": b"[" * 50000 + b"]" * 50000})
case("json_nested_objects", ["load_input", "json", "in.json"], "JSON nested deeper than 64 levels",
     {"in.json": b'{"a":' * 30000 + b"1" + b"}" * 30000})
case("json_duplicate_key", ["load_input", "json", "in.json"], "key \"lr\" appears twice", {"in.json": b'{"lr": 1, "lr": 2}'})
case("json_truncated", ["load_input", "json", "in.json"], "in.json: invalid JSON at byte", {"in.json": b'{"a": [1, 2'})
case("run_folder_other_version", ["load_input", "run_folder", "run"], "run.json: format_version: 999",
     {"run/run.json": json.dumps({"format_version": 999, "files": {}}).encode()})
case("run_folder_deep_json", ["load_input", "run_folder", "run"], "run.json: JSON nested deeper than 64 levels",
     {"run/run.json": b"[" * 50000 + b"]" * 50000})
case("csv_unterminated_quote", ["load_input", "csv", "in.csv"], "in.csv line 2: unterminated quote in field 1",
     {"in.csv": b'timestamp,a\n"2024-01-01,1\n'})
case("csv_ragged_row", ["load_input", "csv", "in.csv"], "in.csv line 3: expected 2 columns (as in the header), got 3",
     {"in.csv": b"timestamp,a\nt0,1\nt1,2,3\n"})
case("csv_text_after_quote", ["load_input", "csv", "in.csv"], "text after the closing quote in field 1",
     {"in.csv": b'timestamp,a\n"t0"x,1\n'})

# ---- run_dcvae: settings, command line, run folders -------------------------------------------------------
DCVAE = {"T": 16, "M": 2, "cnn_units": [4, 4, 4], "dil_rate": [1, 2, 4], "kernel": 2, "batch_size": 8, "epochs": 1,
         "lr": 1e-3, "seed": 1, "max_alpha": 3, "min_alpha": 2, "device": "cpu", "output_dir": "out",
         "data": {"train": "train.csv", "alpha": "alpha.csv", "alpha_labels": "alpha_labels.csv", "test": "test.csv",
                  "test_labels": "test_labels.csv"}}


def dcvae_case(name, message, change=None, raw=None, args=(), files=None, exit_code=1):
    s = json.loads(json.dumps(DCVAE))
    for k, v in (change or {}).items():
        s[k] = v
    f = {"settings.json": raw if raw is not None else json.dumps(s, indent=2).encode()}
    f.update(files or {})
    case(name, ["run_dcvae", "--settings", "settings.json"] + list(args), message, f, exit_code)


dcvae_case("dcvae_decay_step_zero", "key \"decay_step\" must be in [1, 1000000000000], got 0", {"lr_decay": True, "decay_step": 0})
dcvae_case("dcvae_max_alpha_1e5", "key \"max_alpha\" must be in [1, 1000], got 100000", {"max_alpha": 100000})
dcvae_case("dcvae_alpha_grid_too_big", "gives 900 alpha pairs per channel, at most 400", {"min_alpha": 1, "max_alpha": 30})
dcvae_case("dcvae_width_1e6_does_not_fit", "batch_size, T, M, cnn_units and kernel need about",
           {"cnn_units": [1000000, 1000000, 1000000], "batch_size": 4096, "T": 4096})
dcvae_case("dcvae_width_past_range", "key \"cnn_units\" entry 0 must be in [1, 1048576], got 10000000", {"cnn_units": [10000000, 4, 4]})
dcvae_case("dcvae_batch_size_int64_max", "key \"batch_size\" must be in [1, 1048576], got 9223372036854775807",
           {"batch_size": 9223372036854775807})
dcvae_case("dcvae_batch_size_past_int64", "key \"batch_size\" must be an integer", {"batch_size": 18446744073709551615})
dcvae_case("dcvae_epochs_zero", "key \"epochs\" must be in [1, 1000000], got 0", {"epochs": 0})
dcvae_case("dcvae_lr_negative", "key \"lr\" must be in [1e-12, 10], got -0.001", {"lr": -0.001})
dcvae_case("dcvae_lr_not_a_number", "key \"lr\" must be a number", {"lr": "fast"})
dcvae_case("dcvae_val_percent_one", "key \"val_percent\" must be in [0, 0.99], got 1", {"val_percent": 1})
dcvae_case("dcvae_unknown_key", "unknown key \"lerning_rate\"", {"lerning_rate": 0.1})
dcvae_case("dcvae_duplicate_key", "key \"epochs\" appears twice",
           raw=b'{"epochs": 1, "T": 16, "epochs": 1000000}')
dcvae_case("dcvae_deep_settings", "settings.json: JSON nested deeper than 64 levels", raw=b'{"data": ' + b"[" * 100000)
dcvae_case("dcvae_settings_not_object", "expected a JSON object at the top", raw=b"[1, 2]")
dcvae_case("dcvae_stage_unknown", "--stage: nope not in {all,train,alpha,test}", args=["--stage", "nope"])
dcvae_case("dcvae_unknown_option", "The following arguments were not expected", args=["--epochz", "3"])
dcvae_case("dcvae_alpha_without_run", "--stage alpha needs --run with a trained run folder", args=["--stage", "alpha"])
dcvae_case("dcvae_run_not_a_folder", "--run nowhere is not a folder", args=["--stage", "alpha", "--run", "nowhere"])
dcvae_case("dcvae_run_without_run_json", "run/run.json: missing: not a finished run folder",
           args=["--stage", "alpha", "--run", "run"], files={"run/preprocessing.json": b"{}"})
dcvae_case("dcvae_run_other_version", "run.json: format_version: 2, this program reads 1",
           args=["--stage", "alpha", "--run", "run"],
           files={"run/run.json": json.dumps({"format_version": 2, "files": {}}).encode()})
_pre = {"channels": ["a", "b"], "outlier_mean": [0, 0], "outlier_std": [1, 1], "scaler_mean": [0, 0], "scaler_scale": [1, 1]}
_pre_bytes = json.dumps(_pre).encode()
dcvae_case("dcvae_run_edited_file", "run/preprocessing.json: CRC-32", args=["--stage", "alpha", "--run", "run"],
           files={"run/preprocessing.json": _pre_bytes.replace(b"[1, 1]", b"[2, 1]"),
                  "run/run.json": run_json({"preprocessing.json": _pre_bytes})})
dcvae_case("dcvae_run_truncated_file", "(changed since the run finished)", args=["--stage", "alpha", "--run", "run"],
           files={"run/preprocessing.json": _pre_bytes[:20], "run/run.json": run_json({"preprocessing.json": _pre_bytes})})
dcvae_case("dcvae_run_missing_file", "run/checkpoint.safetensors: listed in run.json but missing",
           args=["--stage", "alpha", "--run", "run"],
           files={"run/preprocessing.json": _pre_bytes,
                  "run/run.json": run_json({"preprocessing.json": _pre_bytes, "checkpoint.safetensors": b"x"})})
_short = json.dumps(dict(_pre, scaler_mean=[0])).encode()
dcvae_case("dcvae_short_preprocessing", "preprocessing.json: scaler_mean: 1 values for 2 channels",
           args=["--stage", "alpha", "--run", "run"],
           files={"run/preprocessing.json": _short, "run/run.json": run_json({"preprocessing.json": _short})})
_zero = json.dumps(dict(_pre, scaler_scale=[1, 0])).encode()
dcvae_case("dcvae_scale_zero", "scaler_scale: 0 for channel \"b\" (must be > 0)", args=["--stage", "alpha", "--run", "run"],
           files={"run/preprocessing.json": _zero, "run/run.json": run_json({"preprocessing.json": _zero})})
_nan = b'{"channels": ["a", "b"], "outlier_mean": [0, NaN], "outlier_std": [1, 1], "scaler_mean": [0, 0], "scaler_scale": [1, 1]}'
dcvae_case("dcvae_preprocessing_not_json", "preprocessing.json: invalid JSON", args=["--stage", "alpha", "--run", "run"],
           files={"run/preprocessing.json": _nan, "run/run.json": run_json({"preprocessing.json": _nan})})

_done = {"preprocessing.json": _pre_bytes, "checkpoint.safetensors": b"weights", "alphas.json": b"{}"}
_done_json = json.loads(run_json(_done))
_done_json["stages"] = ["all"]
dcvae_case("dcvae_train_over_finished_run", "stage train is already done in this run",
           args=["--stage", "train", "--run", "run"],
           files=dict({"run/" + k: v for k, v in _done.items()}, **{"run/run.json": json.dumps(_done_json).encode()}))
dcvae_case("dcvae_all_over_finished_run", "pass --force", args=["--stage", "all", "--run", "run"],
           files=dict({"run/" + k: v for k, v in _done.items()}, **{"run/run.json": json.dumps(_done_json).encode()}))

# ---- run_tracedae ------------------------------------------------------------------------------------------
SPANS_HEADER = b"trace_id,span_id,parent_span_id,service,operation,start_time_us,duration_us,status_code\n"


def spans(n_traces, prefix="t"):
    rows = []
    for t in range(n_traces):
        tid = "%s%03d" % (prefix, t)
        rows.append("%s,%s-a,,front,GET /,%d,%d,200" % (tid, tid, 1000 * t, 900 + t % 7))
        rows.append("%s,%s-b,%s-a,db,query,%d,%d,200" % (tid, tid, tid, 1000 * t + 10, 300 + t % 5))
    return SPANS_HEADER + ("\n".join(rows) + "\n").encode()


TRACES = {"mode": "traces", "train_spans": "train.csv", "test_spans": "test.csv", "embed_dim": 4, "hidden_dim": 8,
          "epochs": 1, "seed": 1, "device": "cpu", "output_dir": "out"}


def tracedae_case(name, message, change=None, args=(), files=None, raw=None, exit_code=1, timeout_s=None):
    s = json.loads(json.dumps(TRACES))
    for k, v in (change or {}).items():
        if v is None:
            s.pop(k, None)
        else:
            s[k] = v
    f = {"settings.json": raw if raw is not None else json.dumps(s, indent=2).encode(), "train.csv": spans(12)}
    f.update(files or {})
    case(name, ["run_tracedae", "--settings", "settings.json"] + list(args), message, f, exit_code, timeout_s)


tracedae_case("tracedae_epochs_cli_zero", "--epochs: 0 is out of range [1, 10000000]", args=["--epochs", "0"])
tracedae_case("tracedae_epochs_cli_huge", "--epochs: \"1e99\" is not an integer", args=["--epochs", "1e99"])
tracedae_case("tracedae_epochs_cli_int64_max", "--epochs: 9223372036854775807 is out of range",
              args=["--epochs", "9223372036854775807"])
tracedae_case("tracedae_alpha_two", "key \"alpha\" must be in [0, 1], got 2", {"alpha": 2})
tracedae_case("tracedae_hidden_dim_1e6", "key \"hidden_dim\" must be in [1, 65536], got 1000000", {"hidden_dim": 1000000})
tracedae_case("tracedae_threshold_quantile_zero", "key \"threshold_quantile\" must be in [1e-09, 1], got 0", {"threshold_quantile": 0})
tracedae_case("tracedae_test_without_run", "--stage test needs --run with a trained run folder", args=["--stage", "test"])
tracedae_case("tracedae_empty_test_set", "test.csv: no traces to score (an empty test set is an error)",
              files={"test.csv": SPANS_HEADER}, timeout_s=120)
tracedae_case("tracedae_empty_train_set", "train.csv: no spans to train on", files={"train.csv": SPANS_HEADER, "test.csv": spans(3)})
GRAPH = {"mode": "graph", "graph_source": "dir", "graph_dir": "graph", "embed_dim": 4, "hidden_dim": 8, "epochs": 1,
         "seed": 1, "device": "cpu", "output_dir": "out"}
_edges = b"src,dst\n0,1\n1,2\n"


def graph_case(name, message, graph_files, change=None):
    s = dict(GRAPH)
    s.update(change or {})
    f = {"settings.json": json.dumps(s, indent=2).encode(), "graph/edges.csv": _edges}
    f.update({"graph/" + k: v for k, v in graph_files.items()})
    case(name, ["run_tracedae", "--settings", "settings.json"], message, f)


def trio(indptr, indices, data, shape=b"3 4\n"):
    return {"features_shape.txt": shape,
            "features_indptr.npy": npy("<i8", "(%d,)" % len(indptr), arr("q", indptr)),
            "features_indices.npy": npy("<i4", "(%d,)" % len(indices), arr("i", indices)),
            "features_data.npy": npy("<f4", "(%d,)" % len(data), arr("f", data))}


graph_case("graph_csr_not_monotone", "features_indptr.npy: [2] = 1 is less than [1] = 3", trio([0, 3, 1, 4], [0, 1, 2, 3], [1, 1, 1, 1]))
graph_case("graph_csr_past_data", "features_indptr.npy: [3] = 99, expected the number of indices 4", trio([0, 1, 2, 99], [0, 1, 2, 3], [1, 1, 1, 1]))
graph_case("graph_csr_nan_data", "features_data.npy: [2] is nan", trio([0, 1, 2, 4], [0, 1, 2, 3], [1, 1, float("nan"), 1]))
graph_case("graph_csr_column_past_shape", "features_indices.npy: [3] = 9 is outside [0, 4)", trio([0, 1, 2, 4], [0, 1, 2, 9], [1, 1, 1, 1]))
graph_case("graph_features_shape_overflow", "overflows the 64-bit element count",
           {"features.npy": npy("<f4", "(4, 4611686018427387905)", b"\0" * 16)})
graph_case("graph_features_shape_text_bad", "features_shape.txt: N: \"3x\" is not an integer",
           trio([0, 1, 2, 4], [0, 1, 2, 3], [1, 1, 1, 1], shape=b"3x 4\n"))
graph_case("graph_features_shape_huge", "features_shape.txt: N: 99999999999 is out of range",
           trio([0, 1, 2, 4], [0, 1, 2, 3], [1, 1, 1, 1], shape=b"99999999999 4\n"))



# Zip caps as settings (trace_vectors.zip_max_member_bytes, zip_max_ratio): TraceDAE's trace-vector archives.
TV = {"mode": "graph", "graph_source": "trace_vectors", "embed_dim": 4, "hidden_dim": 8, "epochs": 1, "seed": 1,
      "device": "cpu", "output_dir": "out", "trace_vectors": {"normal": "normal.zip", "abnormal": "abnormal.zip", "knn": 2}}
_tv_lines = b"".join(b"t%d:%d,0,%d,1\n" % (i, i % 3, i % 5) for i in range(200))


def tv_case(name, message, caps, members=None):
    s = json.loads(json.dumps(TV))
    s["trace_vectors"].update(caps)
    f = {"settings.json": json.dumps(s, indent=2).encode(), "normal.zip": zip_member(_tv_lines, name="normal.txt"),
         "abnormal.zip": zip_member(_tv_lines[:200], name="abnormal.txt")}
    f.update(members or {})
    case(name, ["run_tracedae", "--settings", "settings.json"], message, f)


tv_case("tracedae_zip_ratio_setting", "normal.zip: normal.txt: ", {"zip_max_ratio": 2})
tv_case("tracedae_zip_member_cap_setting", "over the 1024-byte limit", {"zip_max_member_bytes": 1024})
tv_case("tracedae_zip_ratio_zero", "key \"trace_vectors.zip_max_ratio\" must be in [1, 100000], got 0", {"zip_max_ratio": 0})
tv_case("tracedae_zip_member_cap_past_range", "key \"trace_vectors.zip_max_member_bytes\" must be in [1024, 68719476736]",
        {"zip_max_member_bytes": 1 << 40})
tv_case("tracedae_zip_bomb_default_caps", "limit on the compression ratio", {},
        members={"normal.zip": zip_member(b"t0:" + b"0," * 200000 + b"0\n", name="normal.txt")})


# ---- run_glead: settings, loghub CSV, sessions -------------------------------------------------------------
def loghub(n=60, every=25, header="LineId,Label,EventId,EventTemplate"):
    rows = [header]
    for i in range(n):
        rows.append("%d,%s,E%d,\"template %d, with a comma\"" % (i + 1, "APP" if i % every == 0 else "-", i % 4 + 1, i % 4 + 1))
    return ("\n".join(rows) + "\n").encode()


GLEAD = {"data": {"format": "loghub", "structured_csv": "structured.csv"}, "window_size": 10, "step_size": 5,
         "split": {"kind": "random", "train_labelled_normal": 1, "train_unlabelled_normal": 1, "train_labelled_anomalous": 1,
                   "val_normal": 1, "val_anomalous": 1, "test_normal": -1, "test_anomalous": -1},
         "epochs": 1, "hidden_size": 4, "attention_size": 4, "n_attention_heads": 2, "batch_size_train": 2,
         "batch_size_val": 2, "batch_size_test": 4, "seed": 1, "device": "cpu", "output_dir": "out"}


def glead_case(name, message, change=None, raw=None, args=(), files=None, split=None):
    s = json.loads(json.dumps(GLEAD))
    for k, v in (change or {}).items():
        s[k] = v
    s["split"].update(split or {})
    f = {"settings.json": raw if raw is not None else json.dumps(s, indent=2).encode(), "structured.csv": loghub()}
    f.update(files or {})
    case(name, ["run_glead", "--settings", "settings.json", "--no-plots"] + list(args), message, f)


glead_case("glead_epochs_zero", "key \"epochs\" must be in [1, 1000000], got 0", {"epochs": 0})
glead_case("glead_window_huge", "key \"window_size\" must be in [1, 10000], got 1000000", {"window_size": 1000000})
glead_case("glead_step_zero", "key \"step_size\" must be in [1, 1000000000], got 0", {"step_size": 0})
glead_case("glead_hidden_past_range", "key \"hidden_size\" must be in [1, 16384], got 4294967300", {"hidden_size": 4294967300})
glead_case("glead_heads_zero", "key \"n_attention_heads\" must be in [1, 1024], got 0", {"n_attention_heads": 0})
glead_case("glead_batch_int64_max", "key \"batch_size_test\" must be in [1, 1048576], got 9223372036854775807",
           {"batch_size_test": 9223372036854775807})
glead_case("glead_does_not_fit", "window_size, hidden_size, attention_size, n_attention_heads and the batch sizes need about",
           {"window_size": 10000, "hidden_size": 16384, "attention_size": 16384, "n_attention_heads": 1024,
            "batch_size_test": 1048576})
glead_case("glead_lr_zero", "key \"learning_rate\" must be in [1e-12, 10], got 0", {"learning_rate": 0})
glead_case("glead_entry_threshold_one", "key \"entry_threshold\" must be in [0, 0.999999], got 1", {"entry_threshold": 1})
glead_case("glead_split_negative", "key \"split.val_normal\" must be in [0, 1000000000], got -5", split={"val_normal": -5})
glead_case("glead_split_fractions", "split.train_fraction and split.val_fraction must be > 0 with a sum below 1",
           split={"train_fraction": 0.7, "val_fraction": 0.3})
glead_case("glead_unknown_key", "unknown key \"epoch\"", {"epoch": 3})
glead_case("glead_duplicate_key", "key \"epochs\" appears twice", raw=b'{"epochs": 1, "epochs": 1000000}')
glead_case("glead_unknown_option", "run_glead: The following arguments were not expected", args=["--epochz", "3"])
glead_case("glead_log_no_label_column", "structured.csv: Label: no such column",
           files={"structured.csv": loghub(header="LineId,Lable,EventId,EventTemplate")})
glead_case("glead_log_header_only", "structured.csv: line 2: no log entries after the header",
           files={"structured.csv": b"LineId,Label,EventId,EventTemplate\n"})
glead_case("glead_log_empty_event_id", "structured.csv: line 4: empty EventId",
           files={"structured.csv": b"LineId,Label,EventId\n1,-,E1\n2,-,E2\n3,-,\n"})
glead_case("glead_log_unterminated_quote", "unterminated quote in field 4",
           files={"structured.csv": loghub() + b'61,-,E1,"no end\n'})
glead_case("glead_log_ragged_row", "line 62: expected 4 columns (as in the header), got 2",
           files={"structured.csv": loghub() + b"61,-\n"})
glead_case("glead_log_shorter_than_window", "window_size: 10 is larger than the 5 entries read",
           files={"structured.csv": loghub(5)})
glead_case("glead_split_wants_too_many", "split.val_normal: 5000 windows requested", split={"val_normal": 5000})
glead_case("glead_log_binary", "structured.csv line 4: expected 4 columns", files={"structured.csv": loghub(2) + b"\x00\xff\xfe,\x01\n"})
G = ["load_input", "glead_sessions", "sessions.txt"]
case("glead_sessions_negative_key", G, "sessions.txt: line 2: key \"-3\" is not a non-negative integer",
     {"sessions.txt": b"1 2 3\n4 -3 5\n"})
case("glead_sessions_nan_key", G, "sessions.txt: line 1: key \"nan\" is not a non-negative integer", {"sessions.txt": b"1 nan\n"})
case("glead_sessions_key_past_range", G, "key \"99999999999\" is not a non-negative integer",
     {"sessions.txt": b"1 99999999999\n"})
case("glead_sessions_blank_between", G, "sessions.txt: line 2: blank line between sessions", {"sessions.txt": b"1 2\n\n3 4\n"})
case("glead_sessions_empty", G, "sessions.txt: no sessions (the file is empty)", {"sessions.txt": b"\n\n"})
case("glead_log_quoted_newline_ok", ["load_input", "glead_log", "structured.csv", "templates.csv"], "",
     {"structured.csv": b'LineId,Label,EventId,EventTemplate\n1,-,E1,"two\nlines, quoted"\n2,APP,"E,2",x\n',
      "templates.csv": b'EventId,EventTemplate\nE1,"a ""quoted"" template"\n'}, exit_code=0)
case("glead_templates_no_column", ["load_input", "glead_log", "structured.csv", "templates.csv"],
     "templates.csv: EventTemplate: no such column",
     {"structured.csv": loghub(3), "templates.csv": b"EventId,Template\nE1,x\n"})

# ---- run_deepsphere: settings and dynamic networks -----------------------------------------------------------
def f32(shape, values=None):
    n = 1
    for d in shape:
        n *= d
    values = values if values is not None else [float((k * 7) % 5) / 5 for k in range(n)]
    return npy("<f4", "(%s)" % "".join("%d, " % d for d in shape), arr("f", values))


DS_DATA = f32((4, 3, 3, 3))
DS = {"mode": "synthetic", "data": {"train": {"data": "train.npy", "labels": "train_labels.csv"},
                                    "test": {"data": "test.npy", "labels": "test_labels.csv"}},
      "model": {"hidden": 4}, "train": {"epochs": 1, "seed": 1}, "device": "cpu", "output_dir": "out", "plots": False}
DS_LABELS = b"case,label\n0,0\n1,0\n2,1\n3,0\n"


def deepsphere_case(name, message, change=None, raw=None, args=(), files=None, section=None):
    s = json.loads(json.dumps(DS))
    for k, v in (change or {}).items():
        s[k] = v
    for sec, kv in (section or {}).items():
        s[sec].update(kv)
    f = {"settings.json": raw if raw is not None else json.dumps(s, indent=2).encode(), "train.npy": DS_DATA,
         "test.npy": DS_DATA, "train_labels.csv": DS_LABELS, "test_labels.csv": DS_LABELS}
    f.update(files or {})
    case(name, ["run_deepsphere", "--settings", "settings.json"] + list(args), message, f)


deepsphere_case("deepsphere_epochs_zero", "settings.json: train.epochs: 0 is outside [1, 1e+07]", section={"train": {"epochs": 0}})
deepsphere_case("deepsphere_hidden_2pow32", "settings.json: model.hidden: 4.29497e+09 is outside [1, 4096]",
                section={"model": {"hidden": 4294967300}})
deepsphere_case("deepsphere_keep_prob_zero", "model.keep_prob: 0 is outside (0, 1]", section={"model": {"keep_prob": 0}})
deepsphere_case("deepsphere_seed_negative", "train.seed: -1 is outside [0, 9.0072e+15]", section={"train": {"seed": -1}})
deepsphere_case("deepsphere_unknown_key", "unknown key \"model.hiden\"", section={"model": {"hiden": 3}})
deepsphere_case("deepsphere_duplicate_key", "key \"mode\" appears twice", raw=b'{"mode": "synthetic", "mode": "callgraph"}')
deepsphere_case("deepsphere_unknown_option", "run_deepsphere: The following arguments were not expected", args=["--epochz", "3"])
deepsphere_case("deepsphere_data_nan", "train.npy: case 1, t 0, i 0, j 2: value nan is not finite",
                files={"train.npy": f32((4, 3, 3, 3), [0.0] * 29 + [float("nan")] + [0.0] * 78)})
deepsphere_case("deepsphere_labels_short", "train_labels.csv: rows: 2 labels for 4 cases",
                files={"train_labels.csv": b"case,label\n0,0\n1,1\n"})
# Call-graph mode: span start times far apart must not make a wrapped-around or huge allocation.
def callgraph_spans(starts):
    rows = [SPANS_HEADER.decode().strip()]
    for k, t in enumerate(starts):
        rows.append("r%d,a,,front,GET,%d,100,200" % (k, t))
        rows.append("r%d,b,a,db,query,%d,50,200" % (k, t))
    return ("\n".join(rows) + "\n").encode()


def callgraph_case(name, message, starts, window_us):
    s = {"mode": "callgraph", "callgraph": {"train_spans": "train.csv", "test_spans": "test.csv", "window_us": window_us,
                                            "steps": 2},
         "model": {"hidden": 4}, "train": {"epochs": 1}, "device": "cpu", "output_dir": "out", "plots": False}
    case(name, ["run_deepsphere", "--settings", "settings.json"], message,
         {"settings.json": json.dumps(s, indent=2).encode(), "train.csv": callgraph_spans(starts),
          "test.csv": callgraph_spans([0, 10, 20, 30])})


callgraph_case("deepsphere_spans_start_overflow", "train.csv: start_time_us: from -9000000000000000000 to 9000000000000000000 overflows 64 bits",
               [-9000000000000000000, 9000000000000000000], 1)
callgraph_case("deepsphere_spans_window_count_overflow", "train.csv: windows x services",
               [0, 9000000000000000000], 1)
callgraph_case("deepsphere_spans_windows_do_not_fit", "train.csv: start_time_us: 10000000001 windows of 1000 us x 2^2 services: need about",
               [0, 10000000000000], 1000)
D = ["load_input", "deepsphere_data", "data.npy", "labels.csv", "deviations.csv"]
DEV_OK = b"case,t,i,j,deviation\n0,1,2,0,0.5\n"


def ds_case(name, message, data=DS_DATA, labels=DS_LABELS, deviations=DEV_OK):
    case(name, D, message, {"data.npy": data, "labels.csv": labels, "deviations.csv": deviations})


ds_case("deepsphere_three_dims", "data.npy: shape: expected (cases, T, N, N), got [4,3,9]", data=f32((4, 3, 9)))
ds_case("deepsphere_not_square", "data.npy: shape: expected (cases, T, N, N), got [4,3,3,2]", data=f32((4, 3, 3, 2)))
ds_case("deepsphere_no_cases", "data.npy: shape: empty data [0,3,3,3]", data=npy("<f4", "(0, 3, 3, 3)"))
ds_case("deepsphere_inf_value", "data.npy: case 0, t 0, i 0, j 0: value inf is not finite",
        data=f32((4, 3, 3, 3), [float("inf")] + [0.0] * 107))
ds_case("deepsphere_shape_overflow", "overflows the 64-bit element count",
        data=npy("<f4", "(4, 3, 2147483648, 2147483648)", b"\0" * 16))
ds_case("deepsphere_truncated", "data.npy: truncated file", data=f32((4, 3, 3, 3))[:200])
ds_case("deepsphere_label_case_past", "labels.csv: line 5: case 9 outside [0, 4)", labels=b"case,label\n0,0\n1,0\n2,1\n9,0\n")
ds_case("deepsphere_label_case_negative", "labels.csv: line 2: case -1 outside [0, 4)", labels=b"case,label\n-1,0\n1,0\n2,1\n3,0\n")
ds_case("deepsphere_label_twice", "labels.csv: line 5: case 2 labelled twice", labels=b"case,label\n0,0\n1,0\n2,1\n2,0\n")
ds_case("deepsphere_label_two", "labels.csv: line 3: label 2 is not 0 or 1", labels=b"case,label\n0,0\n1,2\n2,1\n3,0\n")
ds_case("deepsphere_label_nan", "non-finite value \"nan\"", labels=b"case,label\n0,0\n1,nan\n2,1\n3,0\n")
ds_case("deepsphere_label_case_text", "labels.csv: line 2: case \"0x\" is not an integer", labels=b"case,label\n0x,0\n1,0\n2,1\n3,0\n")
ds_case("deepsphere_deviation_past_graph", "deviations.csv: line 2: entry (case 0, t 1, i 3, j 0) is outside the data's (4, 3, 3, 3)",
        deviations=b"case,t,i,j,deviation\n0,1,3,0,0.5\n")
ds_case("deepsphere_deviation_negative_t", "line 2: entry (case 0, t -1, i 0, j 0) is outside",
        deviations=b"case,t,i,j,deviation\n0,-1,0,0,0.5\n")
ds_case("deepsphere_deviation_index_1e300", "deviations.csv: line 2: t 1e+300 is not an integer (or is past 2^53)",
        deviations=b"case,t,i,j,deviation\n0,1e300,0,0,0.5\n")
ds_case("deepsphere_deviation_fraction", "deviations.csv: line 2: i 0.5 is not an integer",
        deviations=b"case,t,i,j,deviation\n0,1,0.5,0,0.5\n")
ds_case("deepsphere_deviation_twice", "deviations.csv: line 3: entry (0, 1, 2, 0) listed twice",
        deviations=b"case,t,i,j,deviation\n0,1,2,0,0.5\n0,1,2,0,0.7\n")
ds_case("deepsphere_deviation_nan", "non-finite value \"nan\"", deviations=b"case,t,i,j,deviation\n0,1,2,0,nan\n")
ds_case("deepsphere_deviation_no_column", "deviations.csv: no numeric column \"deviation\"", deviations=b"case,t,i,j,dev\n0,1,2,0,1\n")

# ---- run_muad: settings and chunk folders --------------------------------------------------------------------
MUAD_K, MUAD_S, MUAD_T, MUAD_L = 6, 3, 4, 2


def muad_files(services=b"node_id,service\n0,front\n1,db\n2,cache\n", edges=b"src,dst\n0,1\n0,2\n",
               chunks=None, metrics=None, traces=None, logs=None):
    K, S, T, L = MUAD_K, MUAD_S, MUAD_T, MUAD_L
    if chunks is None:
        chunks = ("chunk,start_s,label,culprit,split\n" +
                  "".join("%d,%d,%d,%d,%d\n" % (k, 10 * k, k % 2, (k % 2) * 2, k % 3 == 2) for k in range(K))).encode()
    return {"services.csv": services, "edges.csv": edges, "chunks.csv": chunks,
            "metrics.npy": metrics if metrics is not None else f32((K, S, T, 7)),
            "traces.npy": traces if traces is not None else f32((K, S, T)),
            "logs.npy": logs if logs is not None else f32((K, S, L))}


M = ["load_input", "muad_dir", "chunks"]


def muad_dir_case(name, message, **kw):
    case(name, M, message, {"chunks/" + k: v for k, v in muad_files(**kw).items()})


muad_dir_case("muad_dir_edge_unknown_service", "chunks/edges.csv: line 3: edge names unknown service 7 (3 services",
              edges=b"src,dst\n0,1\n0,7\n")
muad_dir_case("muad_edge_negative_id", "chunks/edges.csv: line 2: edge names unknown service -1", edges=b"src,dst\n-1,1\n")
muad_dir_case("muad_edge_id_1e300", "chunks/edges.csv: line 2: edge names unknown service 1e+300", edges=b"src,dst\n0,1e300\n")
muad_dir_case("muad_edge_id_fraction", "chunks/edges.csv: line 2: dst 1.5 is not an integer", edges=b"src,dst\n0,1.5\n")
muad_dir_case("muad_services_out_of_order", "chunks/services.csv: line 3: node ids must run 0, 1, ... in order, got 2",
              services=b"node_id,service\n0,front\n2,db\n")
muad_dir_case("muad_services_unterminated_quote", "chunks/services.csv line 3: unterminated quote in field 2",
              services=b'node_id,service\n0,front\n1,"db\n')
muad_dir_case("muad_services_extra_column", "chunks/services.csv line 3: expected 2 columns (as in the header), got 3",
              services=b'node_id,service\n0,front\n1,db,x\n2,cache\n')
case("muad_services_quoted_names_ok", M, "", {"chunks/" + k: v for k, v in muad_files(
    services=b'node_id,service\n0,"front, web"\n1,"d\nb"\n2,"ca""che"\n').items()}, exit_code=0)
muad_dir_case("muad_chunk_label_two", "chunks/chunks.csv: line 2: label must be 0 or 1, got 2",
              chunks=b"chunk,start_s,label,culprit,split\n0,0,2,0,0\n")
muad_dir_case("muad_chunk_culprit_past_graph", "chunks/chunks.csv: line 2: culprit must be 0 (none) or a service id + 1 in 1..3, got 9",
              chunks=b"chunk,start_s,label,culprit,split\n0,0,1,9,0\n")
muad_dir_case("muad_chunk_no_label_column", "chunks/chunks.csv: no numeric column \"label\"",
              chunks=b"chunk,start_s,lable,culprit,split\n0,0,1,1,0\n")
muad_dir_case("muad_chunk_split_nan", "non-finite value \"nan\"", chunks=b"chunk,start_s,label,culprit,split\n0,0,1,1,nan\n")
muad_dir_case("muad_chunk_start_inf", "non-finite value \"inf\"", chunks=b"chunk,start_s,label,culprit,split\n0,inf,1,1,0\n")
muad_dir_case("muad_chunk_count_mismatch", "chunks/metrics.npy: shape: 5 chunks, chunks.csv lists 6",
              metrics=f32((5, MUAD_S, MUAD_T, 7)))
muad_dir_case("muad_services_mismatch", "chunks/traces.npy: shape: 2 services per chunk, the graph has 3",
              traces=f32((MUAD_K, 2, MUAD_T)))
muad_dir_case("muad_steps_mismatch", "chunks/traces.npy: shape: 5 steps, metrics.npy has 4", traces=f32((MUAD_K, MUAD_S, 5)))
muad_dir_case("muad_metrics_nan", "chunks/metrics.npy: chunk 1: non-finite value nan",
              metrics=f32((MUAD_K, MUAD_S, MUAD_T, 7), [0.0] * 100 + [float("nan")] + [0.0] * (MUAD_K * MUAD_S * MUAD_T * 7 - 101)))
muad_dir_case("muad_metrics_float64", "chunks/metrics.npy: dtype: must be float32, got f64",
              metrics=npy("<f8", "(6, 3, 4, 7)", b"\0" * (8 * 6 * 3 * 4 * 7)))
muad_dir_case("muad_metrics_no_steps", "chunks/metrics.npy: shape: [6,3,0,7] has no steps or no metric channels",
              metrics=npy("<f4", "(6, 3, 0, 7)"), traces=npy("<f4", "(6, 3, 0)"))
muad_dir_case("muad_logs_no_templates", "chunks/logs.npy: shape: [6,3,0] has no log templates", logs=npy("<f4", "(6, 3, 0)"))
muad_dir_case("muad_logs_truncated", "chunks/logs.npy: truncated file", logs=f32((MUAD_K, MUAD_S, MUAD_L))[:150])
muad_dir_case("muad_metrics_shape_overflow", "overflows the 64-bit element count",
              metrics=npy("<f4", "(6, 3, 4611686018427387905, 7)", b"\0" * 16))
MUAD_FOLDER = {"seed": 1, "output_dir": "out", "plots": False, "data": {"kind": "folder", "dir": "chunks"},
        "model": {"hidden": 4, "heads": 1}, "training": {"epochs": 1, "batch_size": 4},
        "active": {"mode": "full"}}


def muad_settings_case(name, message, section=None, raw=None, args=(), files=None):
    s = json.loads(json.dumps(MUAD_FOLDER))
    for sec, kv in (section or {}).items():
        s[sec].update(kv)
    f = {"settings.json": raw if raw is not None else json.dumps(s, indent=2).encode()}
    f.update({"chunks/" + k: v for k, v in muad_files(**(files or {})).items()})
    case(name, ["run_muad", "--settings", "settings.json"] + list(args), message, f)


muad_settings_case("muad_hidden_2pow32", "key \"model.hidden\" must be in [1, 4096], got 4294967300", section={"model": {"hidden": 4294967300}})
muad_settings_case("muad_heads_zero", "key \"model.heads\" must be in [1, 64], got 0", section={"model": {"heads": 0}})
muad_settings_case("muad_epochs_zero", "training.epochs: must be in [1, 1e5], got 0", section={"training": {"epochs": 0}})
muad_settings_case("muad_batch_zero", "training.batch_size: must be in [1, 1e5]", section={"training": {"batch_size": 0}})
muad_settings_case("muad_epochs_cli_zero", "run_muad: --epochs: 0 is out of range [1, 100000]", args=["--epochs", "0"])
muad_settings_case("muad_epochs_cli_text", "run_muad: --epochs: \"1e99\" is not an integer", args=["--epochs", "1e99"])
muad_settings_case("muad_unknown_key", "unknown key \"training.epoch\"", section={"training": {"epoch": 2}})
muad_settings_case("muad_duplicate_key", "key \"seed\" appears twice", raw=b'{"seed": 1, "seed": 2}')
# The issue's own cases through run_muad: a chunk with another service count than the graph, a label budget
# larger than the pool of training windows (4 train chunks: 1 validates, 3 in the pool).
muad_settings_case("muad_service_count_mismatch", "chunks/metrics.npy: shape: 2 services per chunk, the graph has 3",
                   files={"metrics": f32((MUAD_K, 2, MUAD_T, 7))})
muad_settings_case("muad_label_budget_past_pool", "active.label_budget: 50 is larger than the pool (3 training windows)",
                   section={"active": {"mode": "active", "label_budget": 50}})
muad_settings_case("muad_folder_nan_logs", "chunks/logs.npy: chunk 0: non-finite value nan",
          files={"logs": f32((MUAD_K, MUAD_S, MUAD_L), [float("nan")] + [0.0] * (MUAD_K * MUAD_S * MUAD_L - 1))})


def main():
    for name in os.listdir(HERE):
        p = os.path.join(HERE, name)
        if os.path.isdir(p) and not name.startswith("fuzz_") and os.path.exists(os.path.join(p, "case.json")):
            with open(os.path.join(p, "case.json")) as f:
                if "generator" in json.load(f):  # made from a real run by make_run_cases.py: kept
                    continue
            shutil.rmtree(p)
    for name, (command, message, files, exit_code, timeout_s) in sorted(CASES.items()):
        d = os.path.join(HERE, name)
        os.makedirs(d)
        for rel, data in files.items():
            os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
            with open(os.path.join(d, rel), "wb") as f:
                f.write(data)
        c = {"command": command, "exit": exit_code, "message": message}
        if timeout_s:
            c["timeout_s"] = timeout_s
        with open(os.path.join(d, "case.json"), "w") as f:
            json.dump(c, f, indent=1)
            f.write("\n")
    print("%d cases written" % len(CASES))


if __name__ == "__main__":
    main()
