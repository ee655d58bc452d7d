import Jobs

/// The spend block of `stats`: one row per provider (today, this month, in all, budget left),
/// then the pipelines that cost the most.
enum SpendLines {
    static func render(_ spend: SpendReport) -> [String] {
        guard !spend.providers.isEmpty || spend.overallBudgetUSD != nil else {
            return ["Spend: nothing paid for yet"]
        }
        var lines = ["Spend (UTC day \(spend.day)), estimated from the price table:"]
        var table = TextTable(
            [.init(title: "PROVIDER")]
                + ["TODAY", "UNITS TODAY", "THIS MONTH", "IN ALL", "BUDGET LEFT TODAY"].map {
                    .init(title: $0, alignRight: true)
                })
        for name in spend.providers.keys.sorted() {
            let provider = spend.providers[name]!
            let units = provider.todayUnits.keys.sorted().map { "\(Money.amount(provider.todayUnits[$0]!)) \($0)" }
            table.add([
                name, Money.text(provider.todayUSD), units.isEmpty ? "-" : units.joined(separator: ", "),
                Money.text(provider.monthUSD),
                Money.text(provider.totalUSD)
                    + (provider.unpriced > 0 ? " (+\(provider.unpriced) unpriced)" : ""),
                budget(provider.budgetUSD, left: provider.budgetLeftUSD),
            ])
        }
        table.add([
            "all", Money.text(spend.todayUSD), "", Money.text(spend.monthUSD), Money.text(spend.totalUSD),
            budget(spend.overallBudgetUSD, left: spend.overallBudgetLeftUSD),
        ])
        lines.append(table.render())
        if !spend.pipelines.isEmpty {
            let top = spend.pipelines.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.prefix(5)
            lines.append(
                "Pipelines: " + top.map { "P\($0.key) \(Money.text($0.value))" }.joined(separator: ", ")
                    + (spend.pipelines.count > 5 ? ", … (\(spend.pipelines.count) in all; see --json)" : ""))
        }
        return lines
    }

    private static func budget(_ limit: Double?, left: Double?) -> String {
        guard let limit, let left else { return "no budget" }
        return "\(Money.text(left)) of \(Money.text(limit))"
    }
}
