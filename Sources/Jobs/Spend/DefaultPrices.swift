/// The price table that ships with the worker (`PriceTable`'s format; `reactor-worker prices`
/// prints it, a starting point for a studio's own `PRICES_FILE`).
///
/// Each price cites where it was read and when. Providers change their prices and studios have
/// their own plans (Leonardo's credits and Kling's units especially), so these are estimates to
/// check against an invoice, not an invoice.
enum DefaultPrices {
    static let text = #"""
        {"prices": [
          {"provider": "openai", "model": "gpt-image-1", "unit": "image", "usd": 0.042, "taken": "2026-12-02",
           "source": "OpenAI image pricing, gpt-image-1 medium quality 1024x1024 (platform.openai.com/docs/pricing; community.openai.com/t/1275254)"},
          {"provider": "openai", "model": "gpt-image-1", "unit": "image", "variant": "1024x1536", "usd": 0.063, "taken": "2026-12-02",
           "source": "OpenAI image pricing, gpt-image-1 medium quality 1024x1536 (platform.openai.com/docs/pricing)"},
          {"provider": "openai", "model": "gpt-image-1", "unit": "image", "variant": "1536x1024", "usd": 0.063, "taken": "2026-12-02",
           "source": "OpenAI image pricing, gpt-image-1 medium quality 1536x1024 (platform.openai.com/docs/pricing)"},
          {"provider": "openai", "model": "gpt-image-1", "unit": "input_token", "usd": 0.000005, "taken": "2026-12-02",
           "source": "OpenAI pricing, gpt-image-1 text input $5.00 per 1M tokens (platform.openai.com/docs/pricing)"},
          {"provider": "openai", "model": "gpt-image-1", "unit": "output_token", "usd": 0.00004, "taken": "2026-12-02",
           "source": "OpenAI pricing, gpt-image-1 image output $40.00 per 1M tokens (platform.openai.com/docs/pricing)"},
          {"provider": "openai", "model": "dall-e-3", "unit": "image", "usd": 0.04, "taken": "2026-12-02",
           "source": "OpenAI image pricing, dall-e-3 standard 1024x1024 (platform.openai.com/docs/pricing)"},
          {"provider": "openai", "model": "gpt-4o-mini", "unit": "input_token", "usd": 0.00000015, "taken": "2026-12-02",
           "source": "OpenAI pricing, gpt-4o-mini input $0.15 per 1M tokens (platform.openai.com/docs/pricing)"},
          {"provider": "openai", "model": "gpt-4o-mini", "unit": "output_token", "usd": 0.0000006, "taken": "2026-12-02",
           "source": "OpenAI pricing, gpt-4o-mini output $0.60 per 1M tokens (platform.openai.com/docs/pricing)"},
          {"provider": "leonardo", "model": "*", "unit": "credit", "usd": 0.0025, "taken": "2026-12-02",
           "source": "Leonardo bills API credits (docs.leonardo.ai/docs/plan-with-the-pricing-calculator); dollars per credit from the API Basic plan, $9 for 3,500 credits — use your plan's"},
          {"provider": "bytedance", "model": "*", "unit": "image", "usd": 0.03, "taken": "2026-12-02",
           "source": "BytePlus ModelArk pricing, Seedream 4.0: $0.03 per generated image (docs.byteplus.com/en/docs/ModelArk)"},
          {"provider": "bria", "model": "*", "unit": "call", "usd": 0.018, "taken": "2026-12-02",
           "source": "BRIA pricing, background removal API pay as you go, per image (bria.ai/pricing)"},
          {"provider": "kling", "model": "*", "unit": "unit", "usd": 0.14, "taken": "2026-12-02",
           "source": "Kling API resource packs, about $0.14 per unit; a 5 s std video takes 1 unit (app.klingai.com/global/dev) — use your pack's"},
          {"provider": "seedance", "model": "*", "unit": "token", "usd": 0.0000025, "taken": "2026-12-02",
           "source": "BytePlus ModelArk pricing, Seedance 1.0 pro: $2.50 per 1M tokens; 5 s of 720p is about 108,900 tokens (docs.byteplus.com/en/docs/ModelArk)"}
        ]}
        """#

    static let table: PriceTable = {
        do {
            return try PriceTable.parse(text)
        } catch {
            preconditionFailure("the shipped price table does not parse: \(error)")
        }
    }()
}
