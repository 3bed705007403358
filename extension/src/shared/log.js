// Console logging filtered by the policy's logLevel. Callers pass codes and origins only:
// never arguments, PINs, PUKs or tokens.

const LEVELS = ["off", "error", "warn", "info", "debug", "trace"];
let threshold = LEVELS.indexOf("warn");

export function setLogLevel(level) {
  const index = LEVELS.indexOf(level);
  threshold = index >= 0 ? index : LEVELS.indexOf("warn");
}

export function logEnabled(level) {
  const index = LEVELS.indexOf(level);
  return index > 0 && index <= threshold;
}

function emit(level, method, parts) {
  if (logEnabled(level)) {
    console[method]("[carecard]", ...parts);
  }
}

export const log = {
  error: (...parts) => emit("error", "error", parts),
  warn: (...parts) => emit("warn", "warn", parts),
  info: (...parts) => emit("info", "info", parts),
  debug: (...parts) => emit("debug", "debug", parts),
};
