/// The daily spend limits: `<PROVIDER>_DAILY_BUDGET_USD` per provider and `DAILY_BUDGET_USD` for
/// all of them together, counted per UTC day over every worker on the same database. A job that
/// would go over waits, queued, until the next UTC day (or a restart with a higher budget).
public struct DailyBudgets: Sendable, Equatable {
    public var perProvider: [String: Double]
    public var overall: Double?

    public init(perProvider: [String: Double] = [:], overall: Double? = nil) {
        self.perProvider = perProvider
        self.overall = overall
    }

    /// Whether any budget limits jobs of `provider` (then each is priced and reserved before it is
    /// paid for).
    public func applies(to provider: String) -> Bool { perProvider[provider] != nil || overall != nil }

    /// The setting that limits `provider`, for messages.
    public func settingName(for provider: String) -> String {
        perProvider[provider] != nil ? "\(provider.uppercased())_DAILY_BUDGET_USD" : "DAILY_BUDGET_USD"
    }

    /// Why a job of `provider` that costs `cost` may not be paid for today, or nil when it fits.
    /// A job that exactly reaches a budget fits; rounding below a millionth of a dollar is ignored.
    public func overrun(provider: String, cost: Double, spentByProvider: Double, spentOverall: Double) -> String? {
        let tolerance = 0.000_001
        if let limit = perProvider[provider], spentByProvider + cost > limit + tolerance {
            return Self.reason(who: provider, spent: spentByProvider, limit: limit, cost: cost)
        }
        if let limit = overall, spentOverall + cost > limit + tolerance {
            return Self.reason(who: "all providers together", spent: spentOverall, limit: limit, cost: cost)
        }
        return nil
    }

    static func reason(who: String, spent: Double, limit: Double, cost: Double) -> String {
        let have = who == "all providers together" ? "have" : "has"
        let this = spent < limit - 0.000_001 ? " and this job would cost about \(Money.text(cost))" : ""
        return
            "waiting for budget: \(who) \(have) spent \(Money.text(spent)) of \(Money.text(limit)) today\(this); resumes at 00:00 UTC"
    }
}
