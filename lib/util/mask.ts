/**
 * A mobile number safe for logs and reports.
 *
 * @example
 * maskMobile('13800000001') // '138****0001'
 */
export function maskMobile(mobile: string): string {
  return mobile.length <= 7 ? '****' : `${mobile.slice(0, 3)}****${mobile.slice(-4)}`;
}
