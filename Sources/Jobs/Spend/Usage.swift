import JSON

/// How much of what a job uses or used, in the provider's own units: `["credit": 22]`,
/// `["input_token": 50, "output_token": 1056]`, `["image": 2]`. Plain value; any thread.
public struct Usage: Sendable, Equatable {
    public var amounts: [String: Double]

    public init(_ amounts: [String: Double]) { self.amounts = amounts.filter { $0.value > 0 } }

    /// What `cost_units` and `cost_unit` show: one total, in words ("1106 tokens", "22 credits").
    public var summary: (units: Double, unit: String) {
        let total = amounts.values.reduce(0, +)
        let kinds = Set(amounts.keys.map(Self.family))
        let unit = kinds.count == 1 ? kinds.first! : amounts.keys.sorted().joined(separator: "+")
        return (total, unit)
    }

    /// "input_token" and "output_token" are both tokens.
    static func family(_ unit: String) -> String {
        if unit.hasSuffix("token") { return "tokens" }
        return unit + "s"
    }

    public var json: JSONValue { .object(amounts.mapValues { .number($0) }) }
}

/// What a provider description says about a job's price: the model and the size or mode the
/// price table distinguishes, and the usage expected before the submit (for the budget check).
public struct PricingKey: Sendable, Equatable {
    public var model: String
    public var variant: String?

    public init(model: String, variant: String? = nil) {
        self.model = model
        self.variant = variant
    }
}
