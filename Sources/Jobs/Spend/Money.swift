import Foundation

/// US dollars as people read them: "$41.20", amounts under a dollar to a hundredth of a cent
/// ("$0.042", "$0.0109"), and a per-token price with the digits it needs ("$0.000005") — never
/// rounded to "$0.00".
public enum Money {
    public static func text(_ usd: Double) -> String {
        if abs(usd) >= 1 || usd == 0 { return String(format: "$%.2f", usd) }
        let short = trimmed(String(format: "$%.4f", usd))
        return short == "$0.00" || short == "-$0.00" ? trimmed(String(format: "$%.8f", usd)) : short
    }

    /// Trailing zeros off, keeping two decimals.
    private static func trimmed(_ text: String) -> String {
        var text = text
        while text.hasSuffix("0") && text.split(separator: ".").last!.count > 2 { text.removeLast() }
        return text
    }

    /// A count of a provider's units as people read it: "96", "2.5".
    public static func amount(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }
}
