import { GatewayError } from '../errors.js';
import type { SourceRuntime } from './source.js';

/** The configured sources by name; the one place that turns a `source: String!` argument into a runtime. */
export class SourceRegistry {
  private readonly byName = new Map<string, SourceRuntime>();

  constructor(sources: SourceRuntime[]) {
    for (const source of sources) this.byName.set(source.name, source);
  }

  all(): SourceRuntime[] {
    return [...this.byName.values()];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): SourceRuntime {
    const source = this.byName.get(name);
    if (!source) {
      const known = [...this.byName.keys()].join(', ') || 'none';
      throw new GatewayError('BAD_USER_INPUT', `Unknown source "${name}" (configured: ${known})`, { details: { argument: 'source' } });
    }
    return source;
  }

  /** A source of one concrete kind, or a BAD_USER_INPUT naming the mismatch. */
  getAs<T extends SourceRuntime>(name: string, guard: (s: SourceRuntime) => s is T, expected: string): T {
    const source = this.get(name);
    if (!guard(source)) {
      throw new GatewayError('BAD_USER_INPUT', `Source "${name}" is a ${source.kind} source, not ${expected}`, {
        details: { argument: 'source' },
      });
    }
    return source;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.all().map((s) => s.close()));
  }
}
