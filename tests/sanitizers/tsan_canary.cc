// The host-tsan preset's canary: a data race ThreadSanitizer must report with the preset's
// TSAN_OPTIONS. Paho is uninstrumented and the preset tells TSan to ignore what such modules do
// (ignore_noninstrumented_modules=1); this proves that a race in our code on one of Paho's threads
// (an action listener, where the forwarder's callbacks run) is still reported. ctest expects
// the report; if it ever stops coming, the sanitizer runs would be checking less than they say.
//
// The race: the listener writes `g_failed_code` on Paho's thread without synchronisation, and
// the main thread reads it after a sleep (which orders nothing).
#include <chrono>
#include <cstdio>
#include <thread>

#include "mqtt/async_client.h"

namespace {

int g_failed_code = 0;  // deliberately unsynchronised

class Listener final : public mqtt::iaction_listener {
 public:
  void on_success(const mqtt::token& /*token*/) override { g_failed_code = -1; }
  void on_failure(const mqtt::token& token) override { g_failed_code = token.get_return_code(); }
};

}  // namespace

int main() {
  // Port 1 on loopback: nothing listens, so the connect fails at once on Paho's thread.
  mqtt::async_client client("tcp://127.0.0.1:1", "tsan-canary", mqtt::create_options(MQTTVERSION_5),
                            nullptr);
  Listener listener;
  client.connect(mqtt::connect_options_builder().mqtt_version(MQTTVERSION_5).finalize(), nullptr,
                 listener);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::printf("listener saw %d\n", g_failed_code);
  return 0;
}
