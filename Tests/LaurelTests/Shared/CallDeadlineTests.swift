@testable import LaurelShared
import Testing

/// `grpc-timeout` as the gRPC spec writes it: up to eight digits and a unit.
@Suite struct CallDeadlineTests {
    @Test func everyUnitReadsAndNothingElseDoes() {
        #expect(CallDeadline.timeout("2H") == .seconds(7_200))
        #expect(CallDeadline.timeout("3M") == .seconds(180))
        #expect(CallDeadline.timeout("5S") == .seconds(5))
        #expect(CallDeadline.timeout("300m") == .milliseconds(300))
        #expect(CallDeadline.timeout("99999999u") == .microseconds(99_999_999))
        #expect(CallDeadline.timeout("0n") == .zero)
        for bad in ["", "m", "5", "5s", "5x", "-5S", "123456789S", "1.5S", " 5S"] {
            #expect(CallDeadline.timeout(Substring(bad)) == nil, "\(bad)")
        }
    }

    @Test func withoutADeadlineNothingHasPassed() async {
        #expect(!CallDeadline.passed)
        CallDeadline.$current.withValue(ContinuousClock.now - .milliseconds(1)) { #expect(CallDeadline.passed) }
        CallDeadline.$current.withValue(ContinuousClock.now + .seconds(60)) { #expect(!CallDeadline.passed) }
    }
}
