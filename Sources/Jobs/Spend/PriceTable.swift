import Foundation
import JSON

/// What the providers charge, per provider, model, unit and (where it matters) size or mode,
/// each price with the date it was taken and where it came from. The worker ships one
/// (`DefaultPrices`); `PRICES_FILE` replaces it with a studio's own, in the same format:
///
/// ```json
/// {"prices": [{"provider": "openai", "model": "gpt-image-1", "unit": "image", "variant": "1024x1024",
///              "usd": 0.042, "taken": "2026-11-20", "source": "https://…"}]}
/// ```
///
/// `model` may be `*` (any model of the provider), `variant` may be left out (any). The most
/// specific entry wins. A job no entry prices gets no money figure and a note that says so — never
/// a zero.
public struct PriceTable: Sendable {
    public struct Price: Sendable, Equatable {
        public var provider: String
        public var model: String
        public var unit: String
        public var variant: String?
        public var usd: Double
        public var taken: String
        public var source: String
    }

    public let prices: [Price]

    /// The table that ships with the worker (`DefaultPrices`).
    public static var shipped: PriceTable { DefaultPrices.table }

    /// The document form, for `reactor-worker prices --json` and as a start for `PRICES_FILE`.
    public var json: JSONValue {
        .object([
            "prices": .array(
                prices.map { price in
                    var entry: [String: JSONValue] = [
                        "provider": .string(price.provider), "model": .string(price.model),
                        "unit": .string(price.unit), "usd": .number(price.usd), "taken": .string(price.taken),
                        "source": .string(price.source),
                    ]
                    if let variant = price.variant { entry["variant"] = .string(variant) }
                    return .object(entry)
                })
        ])
    }

    /// Parses a price document; every problem names the entry and the key.
    public static func parse(_ text: String) throws(PriceTableError) -> PriceTable {
        let value: JSONValue
        do {
            value = try JSONValue.parse(text)
        } catch {
            throw PriceTableError("the price table is not valid JSON: \(error)")
        }
        guard let entries = value["prices"]?.arrayValue else {
            throw PriceTableError("the price table needs a \"prices\" list")
        }
        var prices: [Price] = []
        for (index, entry) in entries.enumerated() {
            func text(_ key: String, required: Bool = true) throws(PriceTableError) -> String? {
                guard let raw = entry[key], !raw.isNull else {
                    if required { throw PriceTableError("prices[\(index)].\(key) is required") }
                    return nil
                }
                guard let string = raw.stringValue, !string.isEmpty else {
                    throw PriceTableError("prices[\(index)].\(key) must be a non-empty string")
                }
                return string
            }
            guard let usd = entry["usd"]?.doubleValue, usd >= 0, usd.isFinite else {
                throw PriceTableError("prices[\(index)].usd must be a number of US dollars per unit, 0 or more")
            }
            prices.append(
                Price(
                    provider: try text("provider")!, model: try text("model")!, unit: try text("unit")!,
                    variant: try text("variant", required: false), usd: usd, taken: try text("taken")!,
                    source: try text("source")!))
        }
        return PriceTable(prices: prices)
    }

    /// The price of one `unit` for this provider and key: exact model before `*`, exact variant
    /// before none.
    public func price(provider: String, unit: String, key: PricingKey) -> Price? {
        let candidates = prices.filter {
            $0.provider == provider && $0.unit == unit && ($0.model == key.model || $0.model == "*")
                && ($0.variant == nil || $0.variant == key.variant)
        }
        return candidates.max { rank($0, key) < rank($1, key) }
    }

    private func rank(_ price: Price, _ key: PricingKey) -> Int {
        (price.model == key.model ? 2 : 0) + (price.variant != nil && price.variant == key.variant ? 1 : 0)
    }

    /// The money for `usage`, or the note saying which price is missing.
    public func cost(of usage: Usage, provider: String, key: PricingKey) -> Result<Double, PriceGap> {
        var total = 0.0
        for (unit, amount) in usage.amounts.sorted(by: { $0.key < $1.key }) {
            guard let price = price(provider: provider, unit: unit, key: key) else {
                let variant = key.variant.map { " \($0)" } ?? ""
                return .failure(
                    PriceGap(message: "no price known for \(provider) \(key.model)\(variant) (per \(unit))"))
            }
            total += amount * price.usd
        }
        return .success(total)
    }
}

/// Why a job has no money figure: the price the table lacks.
public struct PriceGap: Error, Sendable, Equatable {
    public let message: String
}

/// A price document the worker cannot use; the worker does not start.
public struct PriceTableError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
