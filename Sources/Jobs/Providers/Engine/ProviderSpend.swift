/// The money side of one provider run, in the engine so every provider gets it once: the
/// reservation against the day's budgets before a submit, the charge when the provider accepts
/// it, the provider's own usage figure when it reports one, and the reservation dropped when
/// the submit turns out not to be paid for. Loop thread only.
///
/// Polling and downloading a task already paid for never come here, so they are never held.
final class ProviderSpend {
    private let api: any ProviderAPI
    private let context: JobContext
    private let job: ProviderJob
    /// Whether this run reserved money for its submission (then an unpaid submit gives it back).
    private var reserved = false

    init(api: any ProviderAPI, context: JobContext, job: ProviderJob) {
        self.api = api
        self.context = context
        self.job = job
    }

    private var budgets: DailyBudgets { context.settings.budgets }

    /// Runs `pay` when paying for the submit is within today's budgets (at once when none
    /// applies); else `hold` gets the reason and the time to look again (the next UTC day).
    func beforeSubmit(pay: @escaping () -> Void, hold: @escaping (_ reason: String, _ until: Double) -> Void) {
        let provider = api.name.key
        guard budgets.applies(to: provider) else { return pay() }
        let expected = entry(api.expectedUsage(job), reported: false, state: .reserved)
        let until = UTCDay.nextMidnight(after: context.clock())
        guard expected.usd != nil else {
            return hold(
                "waiting for a price: \(expected.note ?? "no price known for \(provider) \(expected.model)"); \(budgets.settingName(for: provider)) is set, so the worker pays only for what it can price. Add the price to PRICES_FILE (`reactor-worker prices` prints the table) and restart the worker",
                until)
        }
        context.phase = "checking budget"
        context.reserveSpend(expected) { decision in
            switch decision {
            case .granted:
                self.reserved = true
                pay()
            case .overBudget(let reason):
                hold(reason, until)
            }
        }
    }

    /// The provider accepted the submit (or a lost one was found): the job is paid for, at what
    /// the answer reports or else at what was expected.
    func accepted(_ answer: ProviderAnswer?) {
        let reported = answer.flatMap(api.reportedUsage)
        context.recordSpend(
            entry(reported ?? api.expectedUsage(job), reported: reported != nil, state: .charged))
    }

    /// A later answer (the poll that found the task done) with the provider's own usage figure.
    func reported(_ answer: ProviderAnswer) {
        guard let usage = api.reportedUsage(answer) else { return }
        context.recordSpend(entry(usage, reported: true, state: .charged))
    }

    /// The submit was refused or never sent: nothing was paid, the reservation goes.
    func notPaid() {
        guard reserved else { return }
        reserved = false
        context.cancelSpend()
    }

    private func entry(_ usage: Usage?, reported: Bool, state: SpendEntry.State) -> SpendEntry {
        let provider = api.name.key
        let key = api.pricingKey(job)
        var spend = SpendEntry(
            jobID: job.id, submission: context.job.submission, provider: provider, model: key.model,
            day: UTCDay.day(context.clock()), usd: nil, units: 0, unit: "", note: nil, estimated: !reported,
            state: state)
        guard let usage, !usage.amounts.isEmpty else {
            spend.note = "no price known for \(provider) \(key.model): \(api.name.display) reported no usage"
            return spend
        }
        (spend.units, spend.unit) = usage.summary
        switch context.settings.prices.cost(of: usage, provider: provider, key: key) {
        case .success(let usd):
            spend.usd = usd
            if !reported {
                spend.note = "estimated from the expected usage: \(api.name.display) has not reported its own"
            }
        case .failure(let gap):
            spend.note = gap.message
        }
        return spend
    }
}

@available(*, unavailable, message: "a provider run's spend belongs to the loop thread")
extension ProviderSpend: Sendable {}
