/**
 * The payment providers an installation offers, by name (`stripe`, `thawani`, `hpp`), and the one each
 * utility uses: `utilities.payment_provider`, or the installation's default when it is null. The webhook
 * route `/api/v1/payments/{provider}/webhook` finds its provider here; a name that is not registered is a
 * problem+json 404, never a 500.
 */
import type { Kysely } from 'kysely';
import { RasidError } from '../errors.ts';
import type { Database, UtilityId } from '../store/schema.ts';
import type { PaymentProvider } from './provider.ts';

export class PaymentRegistry {
  private readonly byName = new Map<string, PaymentProvider>();
  readonly defaultName: string;

  constructor(providers: readonly PaymentProvider[], defaultName?: string) {
    for (const p of providers) {
      if (this.byName.has(p.name)) throw new Error(`payment provider ${p.name} is registered twice`);
      this.byName.set(p.name, p);
    }
    const first = providers[0];
    if (!first) throw new Error('at least one payment provider is required');
    this.defaultName = defaultName ?? first.name;
    if (!this.byName.has(this.defaultName)) {
      throw new Error(`the default payment provider ${this.defaultName} is not configured`);
    }
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): PaymentProvider {
    const p = this.byName.get(name);
    if (!p)
      throw new RasidError('payment_provider_unknown', `no payment provider named ${name} is configured`);
    return p;
  }

  get default(): PaymentProvider {
    return this.get(this.defaultName);
  }

  /** The provider a utility's customers pay through. */
  async forUtility(db: Kysely<Database>, utilityId: UtilityId): Promise<PaymentProvider> {
    const row = await db
      .selectFrom('utilities')
      .select('payment_provider')
      .where('id', '=', utilityId)
      .executeTakeFirst();
    return this.get(row?.payment_provider ?? this.defaultName);
  }
}
