/**
 * Whether a POST's Content-Type is JSON: `application/json` with any parameters (charset …),
 * case-insensitive, as Geth (which also takes the older application/json-rpc and
 * application/jsonrequest). Missing, text/plain, forms and multipart are not.
 */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false
  const type = header.split(';', 1)[0]!.trim().toLowerCase()
  return type === 'application/json' || type === 'application/json-rpc' || type === 'application/jsonrequest'
}
