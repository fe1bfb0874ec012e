/**
 * The times of a certificate's validity (RFC 5280 section 4.1.2.5), parsed strictly: UTCTime exactly
 * `YYMMDDHHMMSSZ` (section 4.1.2.5.1, years 50-99 are 19xx and 00-49 are 20xx) and GeneralizedTime exactly
 * `YYYYMMDDHHMMSSZ` (section 4.1.2.5.2: seconds always present, no fractional seconds, always Zulu), each
 * field in its calendar range (no 24:00, no leap second 60, no 31 April or 29 February of a common year).
 * GeneralizedTime is accepted for any year, also before 2050 (which RFC 5280 asks CAs not to do). Both
 * become milliseconds since the Unix epoch; every refusal is a ProviderError `cert_parse`.
 */
import { contents, fail, TAG, type Tlv } from './der.js';

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Milliseconds since the epoch of a calendar date and time, each field checked against its range. */
function toMillis(fields: number[], what: string): number {
  const [year, month, day, hour, minute, second] = fields;
  const inRange =
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59;
  if (!inRange) fail(`${what}: not a valid date and time`);
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day); // not Date.UTC, which maps the years 0-99 to 1900-1999
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

/** RFC 5280 section 4.1.2.5: a UTCTime or GeneralizedTime, as milliseconds since the epoch. */
export function readTime(der: Uint8Array, t: Tlv | undefined, what: string): number {
  if (t === undefined || (t.tag !== TAG.utcTime && t.tag !== TAG.generalizedTime))
    fail(`${what}: expected a UTCTime or a GeneralizedTime`);
  const utc = t.tag === TAG.utcTime;
  const form = utc ? 'UTCTime must be YYMMDDHHMMSSZ' : 'GeneralizedTime must be YYYYMMDDHHMMSSZ';
  if (t.end - t.body !== (utc ? 13 : 15)) fail(`${what}: ${form}`);
  const m = (utc ? UTC_TIME : GENERALIZED_TIME).exec(String.fromCharCode(...contents(der, t)));
  if (!m) fail(`${what}: ${form}`);
  const fields = m.slice(1).map(Number);
  if (utc) fields[0] += fields[0] >= 50 ? 1900 : 2000; // RFC 5280 section 4.1.2.5.1
  return toMillis(fields, what);
}
