#pragma once
// The time stamps and host names stored in a study file.
#include <string>

namespace statetune::results::detail {

// Now, as ISO 8601 UTC to the second: "2025-01-31T12:00:00Z".
std::string utc_now_iso();
// This machine's hostname ("unknown" if it cannot be read).
std::string this_host();

}  // namespace statetune::results::detail
