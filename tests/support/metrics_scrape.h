#ifndef KB_TESTS_SUPPORT_METRICS_SCRAPE_H_
#define KB_TESTS_SUPPORT_METRICS_SCRAPE_H_

// Scraping a real keybrokerd's metrics listener (metrics_listen) from a test.

#include <string>

#include "tests/support/broker_process.h"

namespace kb {

// The metrics port keybrokerd logged ("metrics on 127.0.0.1:0 (port N)"); 0 if none.
int MetricsPort(const BrokerProcess& broker);

// GET `path` from 127.0.0.1:`port` over HTTP/1.0; the whole response, headers included.
std::string HttpGet(int port, const std::string& path);

}  // namespace kb

#endif  // KB_TESTS_SUPPORT_METRICS_SCRAPE_H_
