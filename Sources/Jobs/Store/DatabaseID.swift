/// A database's own random id: twelve lower-case hex digits (48 bits), made once when
/// `jobs.db` is created and kept in its `meta` table.
///
/// 48 bits because the id goes into every provider idempotency key (`ExternalTaskID`): short
/// enough for any provider's field, and two databases on one account share an id with odds
/// of about one in 10^14 per pair.
public enum DatabaseID {
    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() & 0xFFFF_FFFF_FFFF
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 12 - digits.count) + digits
    }
}
