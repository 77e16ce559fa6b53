// The gateway's two foundations, exercised on the target the build is for: an LMDB environment
// on disk (put, commit, read back after reopening) and a Paho MQTT v5 async client with its own
// persistence off (our LMDB buffer is the store).
#include <lmdb.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "edge/gateway/temp_dir.h"
#include "mqtt/async_client.h"

namespace {

using edge::gateway::TempDir;

TEST(GatewayLibs, LmdbCommitSurvivesReopen) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  for (int pass = 0; pass < 2; ++pass) {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    ASSERT_EQ(mdb_env_set_mapsize(env, 1U << 20U), 0);
    ASSERT_EQ(mdb_env_open(env, dir.path().c_str(), 0, 0600), 0);
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, pass == 0 ? 0U : MDB_RDONLY, &txn), 0);
    MDB_dbi dbi = 0;
    ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &dbi), 0);
    char key_text[] = "event";
    MDB_val key{sizeof(key_text), key_text};
    if (pass == 0) {
      char value_text[] = "payload";
      MDB_val value{sizeof(value_text), value_text};
      ASSERT_EQ(mdb_put(txn, dbi, &key, &value, 0), 0);
      ASSERT_EQ(mdb_txn_commit(txn), 0);
    } else {
      MDB_val value{};
      ASSERT_EQ(mdb_get(txn, dbi, &key, &value), 0);
      EXPECT_EQ(std::string(static_cast<const char*>(value.mv_data)), "payload");
      mdb_txn_abort(txn);
    }
    mdb_env_close(env);
  }
}

TEST(GatewayLibs, PahoBuildsAV5PublishWithoutItsOwnPersistence) {
  // No persistence object: Paho keeps nothing of its own on disk.
  mqtt::async_client client("tcp://127.0.0.1:1", "edge-libs-test",
                            mqtt::create_options(MQTTVERSION_5), nullptr);
  EXPECT_FALSE(client.is_connected());
  auto message = mqtt::make_message("edge/test", "payload", 1, false);
  mqtt::properties props;
  props.add(mqtt::property(mqtt::property::USER_PROPERTY, "event-id", "00000000000000a1-7-42"));
  message->set_properties(props);
  EXPECT_EQ(message->get_qos(), 1);
  EXPECT_EQ(message->get_properties().size(), 1U);
}

}  // namespace
