import Foundation
import JSON
import XCTest

@testable import Jobs

/// The price table, budgets and money words, and reservations on the in-memory store.
final class SpendTests: XCTestCase {
    func testEveryShippedPriceCitesItsSourceAndDate() {
        let table = PriceTable.shipped
        XCTAssertFalse(table.prices.isEmpty)
        for price in table.prices {
            XCTAssertFalse(price.source.isEmpty, "\(price.provider) \(price.model)")
            XCTAssertNotNil(
                price.taken.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression),
                "\(price.provider) \(price.model) taken \(price.taken)")
            XCTAssertGreaterThan(price.usd, 0)
        }
        // Every provider the worker calls has a price for what its description reports.
        for provider in ["openai", "leonardo", "bytedance", "bria", "kling", "seedance"] {
            XCTAssertTrue(table.prices.contains { $0.provider == provider }, provider)
        }
    }

    func testTheMostSpecificPriceWinsAndAMissingOneIsNamed() throws {
        let table = try PriceTable.parse(
            """
            {"prices": [
              {"provider": "openai", "model": "*", "unit": "image", "usd": 0.05, "taken": "2026-12-01", "source": "a"},
              {"provider": "openai", "model": "gpt-image-1", "unit": "image", "usd": 0.04, "taken": "2026-12-01", "source": "b"},
              {"provider": "openai", "model": "gpt-image-1", "unit": "image", "variant": "1536x1024", "usd": 0.06, "taken": "2026-12-01", "source": "c"}
            ]}
            """)
        let images = Usage(["image": 2])
        XCTAssertEqual(try table.cost(of: images, provider: "openai", key: PricingKey(model: "dall-e-2")).get(), 0.10)
        XCTAssertEqual(
            try table.cost(of: images, provider: "openai", key: PricingKey(model: "gpt-image-1")).get(), 0.08)
        XCTAssertEqual(
            try table.cost(of: images, provider: "openai", key: PricingKey(model: "gpt-image-1", variant: "1536x1024"))
                .get(), 0.12)
        XCTAssertEqual(
            table.cost(of: images, provider: "kling", key: PricingKey(model: "kling-v9")),
            .failure(PriceGap(message: "no price known for kling kling-v9 (per image)")))
        XCTAssertEqual(
            table.cost(of: Usage(["token": 10]), provider: "openai", key: PricingKey(model: "gpt-image-1")),
            .failure(PriceGap(message: "no price known for openai gpt-image-1 (per token)")))
    }

    func testABadPriceDocumentNamesTheEntryAndTheKey() {
        let cases = [
            ("[]", "needs a \"prices\" list"),
            ("{\"prices\": [", "not valid JSON"),
            (
                #"{"prices": [{"provider": "kling", "model": "*", "unit": "unit", "usd": 1, "taken": "x"}]}"#,
                "prices[0].source is required"
            ),
            (
                #"{"prices": [{"provider": "kling", "model": "*", "unit": "unit", "usd": -1, "taken": "x", "source": "y"}]}"#,
                "prices[0].usd must be a number of US dollars"
            ),
            (
                #"{"prices": [{"provider": "", "model": "*", "unit": "unit", "usd": 1, "taken": "x", "source": "y"}]}"#,
                "prices[0].provider must be a non-empty string"
            ),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try PriceTable.parse(text), text) { error in
                XCTAssertTrue("\(error)".contains(message), "\(text): \(error)")
            }
        }
        // What `prices --json` prints parses back to the same table.
        XCTAssertEqual(try PriceTable.parse(PriceTable.shipped.json.jsonString()).prices, PriceTable.shipped.prices)
    }

    func testBudgetsSayWhoSpentWhatAndLetAJobThatExactlyFits() {
        let budgets = DailyBudgets(perProvider: ["kling": 40], overall: 100)
        XCTAssertNil(budgets.overrun(provider: "kling", cost: 0.70, spentByProvider: 39.30, spentOverall: 50))
        XCTAssertEqual(
            budgets.overrun(provider: "kling", cost: 0.70, spentByProvider: 41.20, spentOverall: 50),
            "waiting for budget: kling has spent $41.20 of $40.00 today; resumes at 00:00 UTC")
        XCTAssertEqual(
            budgets.overrun(provider: "kling", cost: 0.70, spentByProvider: 39.80, spentOverall: 50),
            "waiting for budget: kling has spent $39.80 of $40.00 today and this job would cost about $0.70; resumes at 00:00 UTC"
        )
        XCTAssertEqual(
            budgets.overrun(provider: "openai", cost: 1, spentByProvider: 0, spentOverall: 99.5),
            "waiting for budget: all providers together have spent $99.50 of $100.00 today and this job would cost about $1.00; resumes at 00:00 UTC"
        )
        XCTAssertFalse(DailyBudgets(perProvider: ["kling": 1]).applies(to: "openai"))
        XCTAssertNil(  // 12 × $0.02 in floating point is a hair over $0.24.
            DailyBudgets(perProvider: ["leonardo": 0.24]).overrun(
                provider: "leonardo", cost: 0.02, spentByProvider: (0..<11).reduce(0.0) { s, _ in s + 0.02 },
                spentOverall: 0))
    }

    func testMoneyAndDays() {
        XCTAssertEqual(Money.text(41.2), "$41.20")
        XCTAssertEqual(Money.text(0.24000000000000002), "$0.24")
        XCTAssertEqual(Money.text(0.042), "$0.042")
        XCTAssertEqual(Money.text(0.0025), "$0.0025")
        XCTAssertEqual(Money.text(0.010885), "$0.0109")
        XCTAssertEqual(Money.text(0.000005), "$0.000005")
        XCTAssertEqual(Money.text(0), "$0.00")
        XCTAssertEqual(Money.amount(96), "96")
        XCTAssertEqual(Money.amount(3.5), "3.5")
        // 2026-12-02T23:59:59Z and the midnight after it.
        XCTAssertEqual(UTCDay.day(1_796_255_999), "2026-12-02")
        XCTAssertEqual(UTCDay.nextMidnight(after: 1_796_255_999), 1_796_256_000)
        XCTAssertEqual(UTCDay.day(1_796_256_000), "2026-12-03")
        XCTAssertEqual(UTCDay.month(1_796_256_000), "2026-12")
    }

    /// The day arithmetic against Foundation's Gregorian calendar, across leap days, centuries
    /// and the epoch, every 13 hours from 1899 to 2101.
    func testUTCDaysMatchTheGregorianCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var unix = -2_240_524_800.0  // 1899-01-01
        while unix < 4_133_980_800 {  // 2101-01-01
            let parts = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: unix))
            let expected = String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
            XCTAssertEqual(UTCDay.day(unix), expected, "unix \(unix)")
            if UTCDay.day(unix) != expected { return }
            unix += 13 * 3600
        }
        XCTAssertEqual(UTCDay.day(951_782_400), "2000-02-29")
        XCTAssertEqual(UTCDay.day(-1), "1969-12-31")
    }

    func testAReservationIsTakenOnceAndRefusedPastTheBudget() {
        let store = InMemoryJobStore(clock: { 1_796_200_000 })
        let budgets = DailyBudgets(perProvider: ["kling": 0.28])
        func entry(_ job: Int64, submission: Int = 1) -> SpendEntry {
            SpendEntry(
                jobID: job, submission: submission, provider: "kling", model: "kling-v1", day: "2026-12-02", usd: 0.14,
                units: 1, unit: "units", note: nil, estimated: true, state: .reserved)
        }
        var answers: [SpendDecision] = []
        for job: Int64 in [1, 2, 1, 3] { store.reserveSpend(entry(job), within: budgets) { answers.append($0) } }
        XCTAssertEqual(answers.prefix(3), [.granted, .granted, .granted], "job 1 again is the same submission")
        guard case .overBudget(let reason) = answers[3] else { return XCTFail("\(answers)") }
        XCTAssertTrue(reason.contains("kling has spent $0.28 of $0.28"), reason)
        // A reservation whose submit was refused is given back, and the next job fits.
        store.record(.cancelSpend(id: 2, submission: 1))
        store.reserveSpend(entry(3), within: budgets) { answers.append($0) }
        XCTAssertEqual(answers.last, .granted)
        // A charge never replaces a reported figure with an estimate.
        var reported = entry(1)
        reported.state = .charged
        reported.estimated = false
        reported.units = 2
        store.record(.spend(reported))
        store.record(.spend(entry(1)))
        XCTAssertEqual(store.spend[.init(jobID: 1, submission: 1)]?.units, 2)
    }
}
