// Logged-in page: removing the card ends the session.

const status = document.getElementById("status");

async function logOut(reason) {
  try {
    await fetch("/api/logout", { method: "POST", credentials: "same-origin" });
  } finally {
    location.assign(`/?reason=${encodeURIComponent(reason)}`);
  }
}

document.getElementById("logout").addEventListener("click", () => logOut("logged-out"));

try {
  const carecard = await import("/carecard.js");
  await carecard.onCardEvent((event) => {
    if (event?.event === "card-removed") logOut("card-removed");
  });
} catch (error) {
  status.textContent = `Card removal cannot be watched: ${error?.message ?? error}`;
}
