import type { z } from 'zod';
import { aerospikeKind } from './aerospike/kind.js';
import { aivenKind } from './aiven/kind.js';
import { docSpaceKind } from './docspace/kind.js';
import { sourceKindValue, type KindDefinition, type Resolved } from './kind.js';
import { scaleTradeKind } from './scaletrade/kind.js';

/** Every vendor kind the gateway knows, one line each (docs/SOURCES.md: adding a vendor). */
export const KINDS = [aivenKind, aerospikeKind, scaleTradeKind, docSpaceKind] as const;

type AnyKind = (typeof KINDS)[number];
/** A resolved source configuration of any registered kind. */
export type SourceConfig = Resolved<z.output<AnyKind['config']>>;

export function findKind(kind: string): KindDefinition | undefined {
  return (KINDS as readonly KindDefinition[]).find((k) => k.kind === kind);
}

/** GraphQL SourceKind values, in registry order. */
export const SOURCE_KIND_VALUES: readonly string[] = KINDS.map((k) => sourceKindValue(k.kind));
