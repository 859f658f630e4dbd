const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]+):([^\s@/]+)@/gi;
const BEARERISH = /\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}/gi;

/**
 * Removes what must never reach a client or a log: the given secret values, passwords inside
 * URLs, and anything that looks like an Authorization header value.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('[redacted]');
  return out.replace(URL_CREDENTIALS, '$1$2:[redacted]@').replace(BEARERISH, '$1 [redacted]');
}
