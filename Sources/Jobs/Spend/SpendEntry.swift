/// What one paid submission of a job costs, as one row of the `spend` table: keyed by the job and
/// its `submission`, so a resumed run, a lost answer found again or a second worker writing the
/// same submission never counts it twice. Plain value; crosses to the writer thread.
public struct SpendEntry: Sendable, Equatable {
    public enum State: String, Sendable {
        /// Written before the submit, to hold the money against the day's budget; the submit may
        /// not have been sent yet (a refusal or an unsent submit deletes it).
        case reserved
        /// The provider accepted the submit: the job is paid for.
        case charged
    }

    public var jobID: Int64
    public var submission: Int
    public var provider: String
    public var model: String
    /// The UTC day the money counts against ("2026-12-02").
    public var day: String
    /// The money, from the price table; nil when the table has no price (`note` says which).
    public var usd: Double?
    public var units: Double
    /// "credits", "tokens", "images", "units", "calls".
    public var unit: String
    /// Why there is no money figure, or that the units are expected rather than reported.
    public var note: String?
    /// Whether the units are the worker's expectation (the provider has not reported its own yet).
    public var estimated: Bool
    public var state: State

    public init(
        jobID: Int64, submission: Int, provider: String, model: String, day: String, usd: Double?, units: Double,
        unit: String, note: String?, estimated: Bool, state: State
    ) {
        self.jobID = jobID
        self.submission = submission
        self.provider = provider
        self.model = model
        self.day = day
        self.usd = usd
        self.units = units
        self.unit = unit
        self.note = note
        self.estimated = estimated
        self.state = state
    }
}

/// The store's answer to a reservation before a submit.
public enum SpendDecision: Sendable, Equatable {
    /// Within budget (or already reserved by an earlier run of the same submission): pay.
    case granted
    /// Paying would go over a daily budget: the words for the user (`DailyBudgets.overrun`).
    case overBudget(reason: String)
}
