#include "edge/gateway/topic_template.h"

#include <gtest/gtest.h>

namespace edge::gateway {
namespace {

TEST(TopicTemplate, DefaultRendersEveryPlaceholder) {
  std::string why;
  const auto t = TopicTemplate::compile("{prefix}/{gateway}/{device}/{sensor}", &why);
  ASSERT_TRUE(t.has_value()) << why;
  EXPECT_EQ(t->render("edge", "gw-1", "00000000000000a1", "tmp105"),
            "edge/gw-1/00000000000000a1/tmp105");
}

TEST(TopicTemplate, LiteralsAroundAndBetweenPlaceholdersAreKept) {
  std::string why;
  const auto t = TopicTemplate::compile("site/7/{device}-x/{sensor}/data", &why);
  ASSERT_TRUE(t.has_value()) << why;
  EXPECT_EQ(t->render("p", "g", "d", "s"), "site/7/d-x/s/data");
}

TEST(TopicTemplate, UnknownPlaceholderIsNamed) {
  std::string why;
  EXPECT_FALSE(TopicTemplate::compile("{prefix}/{site}/{device}", &why).has_value());
  EXPECT_NE(why.find("{site}"), std::string::npos) << why;
}

TEST(TopicTemplate, UnclosedBraceIsRefused) {
  std::string why;
  EXPECT_FALSE(TopicTemplate::compile("edge/{device", &why).has_value());
  EXPECT_NE(why.find("unclosed"), std::string::npos) << why;
}

TEST(TopicLevel, SensorNamesCannotAddLevelsOrWildcards) {
  EXPECT_EQ(topic_level("a/b+c#"), "a_b_c_");
  EXPECT_EQ(topic_level(std::string("x\0y", 3)), "x_y");
  EXPECT_EQ(topic_level(""), "unknown");
  EXPECT_EQ(topic_level("dps310"), "dps310");
}

}  // namespace
}  // namespace edge::gateway
