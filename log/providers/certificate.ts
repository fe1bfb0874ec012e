/**
 * PEM texts of certificates (RFC 7468), for the server's configuration of trusted roots and the enrolment
 * route: the verifier's strict reader (verifier/enrolment/pem.ts, each block parsed as one DER certificate by
 * verifier/enrolment/certificate.ts), named here for the server's rooms.
 */
export { parsePemCertificates } from '../../verifier/enrolment/pem.js';
