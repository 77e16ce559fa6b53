#include "lossy_ack_link.h"

#include "edge/wire/messages.h"

namespace edge::soak {

void LossyAckLink::count_lost(std::span<const std::uint8_t> frame) {
  decoder_.feed(
      frame,
      [&](std::span<const std::uint8_t> payload) {
        const auto message = wire::verify_link_message(payload);
        const wire::Ack* ack = message.ok() ? message.value()->body_as_Ack() : nullptr;
        if (ack != nullptr && ack->status() == wire::AckStatus::Ok && ack->selective() != nullptr) {
          for (const wire::SeqRange* r : *ack->selective()) {
            lost_ok_events_ += r->last() - r->first() + 1U;
          }
        }
      },
      [](link::FrameError) {});
}

}  // namespace edge::soak
