import { GatewayError, quote } from '../errors.js';
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
      throw new GatewayError('BAD_USER_INPUT', `Unknown source ${quote(name)} (configured: ${known})`, { details: { argument: 'source' } });
    }
    return source;
  }

  /**
   * The source of one kind named `name`, or the only one of that kind when no name is given; a
   * BAD_USER_INPUT that says what is configured otherwise.
   */
  ofKind<T extends SourceRuntime>(kind: string, vendor: string, name?: string): T {
    const ofKind = this.all().filter((s) => s.kind === kind);
    if (name !== undefined) {
      const source = this.get(name);
      if (source.kind !== kind) {
        throw new GatewayError('BAD_USER_INPUT', `Source ${quote(name)} is a ${source.kind} source, not ${vendor}`, { details: { argument: 'source' } });
      }
      return source as T;
    }
    if (ofKind.length === 1) return ofKind[0] as T;
    const names = ofKind.map((s) => s.name).join(', ');
    throw new GatewayError(
      'BAD_USER_INPUT',
      ofKind.length === 0 ? `No ${vendor} source is configured` : `Several ${vendor} sources are configured (${names}): say which with source`,
      { details: { argument: 'source' } },
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.all().map((s) => s.close()));
  }
}
