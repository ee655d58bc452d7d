import JSON
import Reactor

/// What the `spend` table says: money per provider today, this month and in all, per pipeline,
/// and what is left of each daily budget. `stats`, `stats --json`, the metrics file and the
/// dashboard read this one struct, so they agree with each other and with the rows.
///
/// "Spent" is money for submissions the providers accepted (`charged`); the budgets also count
/// reservations of submits on their way (`reserved`), as the worker does before it pays.
public struct SpendReport: Sendable, Equatable {
    public struct Provider: Sendable, Equatable {
        public var todayUSD = 0.0
        public var monthUSD = 0.0
        public var totalUSD = 0.0
        /// Money held by submits on their way today (not yet accepted).
        public var reservedUSD = 0.0
        /// Paid submissions with no price in the table (their money is in none of the sums).
        public var unpriced = 0
        /// Today's units in the provider's own words: "credits" → 96.
        public var todayUnits: [String: Double] = [:]
        public var budgetUSD: Double?

        /// Today's budget minus what is spent and reserved against it, never below zero.
        public var budgetLeftUSD: Double? { budgetUSD.map { max(SpendReport.rounded($0 - todayUSD - reservedUSD), 0) } }
    }

    /// The UTC day and month the figures are for.
    public var day: String
    public var month: String
    public var providers: [String: Provider] = [:]
    /// Pipeline id → money spent on its jobs, in all.
    public var pipelines: [Int64: Double] = [:]
    /// `DAILY_BUDGET_USD`, for all providers together.
    public var overallBudgetUSD: Double?

    public var todayUSD: Double { providers.values.reduce(0) { $0 + $1.todayUSD } }
    public var monthUSD: Double { providers.values.reduce(0) { $0 + $1.monthUSD } }
    public var totalUSD: Double { providers.values.reduce(0) { $0 + $1.totalUSD } }
    public var overallBudgetLeftUSD: Double? {
        overallBudgetUSD.map {
            max(Self.rounded($0 - todayUSD - providers.values.reduce(0) { $0 + $1.reservedUSD }), 0)
        }
    }

    public init(day: String, month: String) {
        self.day = day
        self.month = month
    }

    /// Reads the report at `now` (unix seconds) from a connection to `jobs.db`; a database from
    /// before the `spend` table reads as no spend.
    public static func read(_ connection: any SQLConnection, budgets: DailyBudgets, now: Double) throws
        -> SpendReport
    {
        var report = SpendReport(day: UTCDay.day(now), month: UTCDay.month(now))
        report.overallBudgetUSD = budgets.overall
        for (provider, limit) in budgets.perProvider {
            report.providers[provider, default: Provider()].budgetUSD = limit
        }
        let hasTable = try !connection.query(connection.dialect.tableExists("spend"), []).isEmpty
        guard hasTable else { return report }
        let charged = "state = '\(SpendEntry.State.charged.rawValue)'"
        for row in try connection.query(
            """
            SELECT provider,
                coalesce(sum(CASE WHEN \(charged) AND day = ?1 THEN usd END), 0) AS today,
                coalesce(sum(CASE WHEN \(charged) AND substr(day, 1, 7) = ?2 THEN usd END), 0) AS month,
                coalesce(sum(CASE WHEN \(charged) THEN usd END), 0) AS total,
                coalesce(sum(CASE WHEN NOT \(charged) AND day = ?1 THEN usd END), 0) AS reserved,
                count(*) FILTER (WHERE \(charged) AND usd IS NULL) AS unpriced
            FROM spend GROUP BY provider
            """, [.text(report.day), .text(report.month)])
        {
            let provider = row["provider"]?.string ?? ""
            var entry = report.providers[provider] ?? Provider()
            entry.todayUSD = row["today"]?.double ?? 0
            entry.monthUSD = row["month"]?.double ?? 0
            entry.totalUSD = row["total"]?.double ?? 0
            entry.reservedUSD = row["reserved"]?.double ?? 0
            entry.unpriced = Int(row["unpriced"]?.int ?? 0)
            report.providers[provider] = entry
        }
        for row in try connection.query(
            "SELECT provider, unit, sum(units) AS n FROM spend WHERE \(charged) AND day = ?1 GROUP BY provider, unit",
            [.text(report.day)])
        {
            guard let provider = row["provider"]?.string, let unit = row["unit"]?.string, !unit.isEmpty else {
                continue
            }
            report.providers[provider, default: Provider()].todayUnits[unit] = row["n"]?.double ?? 0
        }
        for row in try connection.query(
            """
            SELECT pipeline_id AS p, coalesce(sum(usd), 0) AS usd FROM spend
            WHERE \(charged) AND pipeline_id IS NOT NULL GROUP BY pipeline_id
            """, [])
        {
            if let id = row["p"]?.int { report.pipelines[id] = row["usd"]?.double ?? 0 }
        }
        return report
    }

    /// The `spend` object of `stats --json` (and the dashboard's API). Money in US dollars,
    /// rounded to a millionth.
    public var json: JSONValue {
        func money(_ value: Double?) -> JSONValue { value.map { .number(Self.rounded($0)) } ?? .null }
        return [
            "day": .string(day), "month": .string(month),
            "today_usd": money(todayUSD), "month_usd": money(monthUSD), "total_usd": money(totalUSD),
            "budget_usd": money(overallBudgetUSD), "budget_left_usd": money(overallBudgetLeftUSD),
            "providers": .object(
                providers.mapValues { provider in
                    [
                        "today_usd": money(provider.todayUSD), "month_usd": money(provider.monthUSD),
                        "total_usd": money(provider.totalUSD), "reserved_usd": money(provider.reservedUSD),
                        "unpriced_jobs": .int(provider.unpriced),
                        "today_units": .object(provider.todayUnits.mapValues { .number($0) }),
                        "budget_usd": money(provider.budgetUSD), "budget_left_usd": money(provider.budgetLeftUSD),
                    ]
                }),
            "pipelines": .object(
                Dictionary(uniqueKeysWithValues: pipelines.map { (String($0.key), money($0.value)) })),
        ]
    }

    static func rounded(_ value: Double) -> Double { (value * 1_000_000).rounded() / 1_000_000 }
}
