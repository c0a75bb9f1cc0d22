// What only some pages use loads on demand from dist/chunks/, each chunk bundled whole on
// its own: the safety codes, identity keys and relay encryption (client/mesh-trust.ts),
// files (client/mesh-files.ts), history for late joiners (client/mesh-history.ts), the transcript kept across reloads
// (client/transcript-store.ts, with persist), the Korean strings
// (components/chat-strings-ko.ts), the safety-code dialog (components/verify-dialog.ts,
// opened only to compare codes), a file's line in the log (components/file-line.ts) and
// notifications (components/notify-controller.ts, with notify). One list for the build and for the bench's size figures.
export const ON_DEMAND = {
  'mesh-trust': 'client/mesh-trust.ts',
  'mesh-files': 'client/mesh-files.ts',
  'mesh-history': 'client/mesh-history.ts',
  'transcript-store': 'client/transcript-store.ts',
  'chat-strings-ko': 'components/chat-strings-ko.ts',
  'verify-dialog': 'components/verify-dialog.ts',
  'file-line': 'components/file-line.ts',
  'notify-controller': 'components/notify-controller.ts',
};

/** Matches an import of one of those chunks (by its built name, `./mesh-trust.js`). */
export const ON_DEMAND_IMPORT = new RegExp(`/(${Object.keys(ON_DEMAND).join('|')})\\.js$`);
