// dstd/settings.hpp — the registry of every DSTD_* environment variable.
//
// Unlike scattered getenv() calls, every tunable dstd reads is declared once, with
// its meaning and default, in src/settings.cpp (the way libfabric's fi_param_define
// works). `dstdrun --help-env` prints the table. Asking for a name that is not in
// the registry is a programming error and throws std::logic_error.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

namespace dstd::settings {

struct entry {
  const char* name;           // e.g. "DSTD_PROVIDER"
  const char* default_value;  // as text, parsed like the environment value
  const char* meaning;        // one line for --help-env
};

// Every registered setting, in registry order.
std::span<const entry> all();

// The value of a registered setting: the environment's if set, else the default.
std::string get(std::string_view name);
// Parsed forms. Bad values throw std::invalid_argument naming the variable.
std::int64_t get_int(std::string_view name);
bool get_bool(std::string_view name);
// Accepts suffixes K, M, G, T (powers of 1024), e.g. "16G".
std::uint64_t get_size(std::string_view name);

// Writes the documented table (name, default, meaning) to `out`.
void print_help(std::FILE* out);

}  // namespace dstd::settings
