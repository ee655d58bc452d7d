import ArgumentParser
import Foundation
import Jobs

/// `reactor-worker prices`: the price table the worker estimates money with.
struct PricesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prices",
        abstract:
            "Show the price table cost_usd and the daily budgets are estimated with, and where each price came from.",
        discussion: """
            The worker ships a table (each price with the date it was taken and its source); PRICES_FILE \\
            replaces it with a studio's own in the same format, which --json prints. The most specific \\
            entry wins: the job's model before '*', its size or mode (VARIANT) before none. A job no \\
            entry prices gets no money figure and a note naming the missing price, never a zero. \\
            See docs/spend.md.
            Examples:
              reactor-worker prices
              reactor-worker prices --json > prices.json   # edit, then PRICES_FILE=prices.json
            """)

    @Flag(help: "Print the table as a PRICES_FILE document.")
    var json = false

    func run() throws {
        let table: PriceTable
        do {
            table = try Configuration().prices()
        } catch {
            exitWithError("\(error)", code: 2)
        }
        if json {
            print(table.json.jsonString(pretty: true))
            return
        }
        var text = TextTable([
            .init(title: "PROVIDER"), .init(title: "MODEL"), .init(title: "VARIANT"), .init(title: "PER"),
            .init(title: "USD", alignRight: true), .init(title: "TAKEN"), .init(title: "SOURCE", maxWidth: 70),
        ])
        for price in table.prices {
            text.add([
                price.provider, price.model, price.variant ?? "-", price.unit, Money.text(price.usd), price.taken,
                price.source,
            ])
        }
        print(text.render())
    }
}
