/**
 * The faucet's one page: a form that posts to /api/drip and shows the answer. Self-contained
 * (no script or style from elsewhere), so it works offline and under a strict CSP.
 */
export function faucetPage(o: { chainId: number; amount: string; window: string; address: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>povchain faucet · chain ${o.chainId}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}
input{width:100%;box-sizing:border-box;padding:.6rem;font:inherit;font-family:monospace}
button{margin-top:.8rem;padding:.6rem 1.2rem;font:inherit;cursor:pointer}
#out{margin-top:1rem;word-break:break-all}.err{color:#b00020}.ok{color:#05631e}small{color:#666}
</style></head>
<body>
<h1>povchain faucet</h1>
<p>Test coins for chain <b>${o.chainId}</b>: <b>${o.amount}</b> a request, one request per address every ${o.window}.</p>
<form id="f"><label for="a">Your address</label>
<input id="a" name="address" placeholder="0x…" autocomplete="off" spellcheck="false" required pattern="0x[0-9a-fA-F]{40}">
<button type="submit">Send me test coins</button></form>
<div id="out" role="status"></div>
<p><small>Sent from ${o.address}. Coins of a test network are worth nothing.</small></p>
<script>
const f=document.getElementById('f'),out=document.getElementById('out');
f.addEventListener('submit',async(e)=>{e.preventDefault();out.className='';out.textContent='sending…';
try{const r=await fetch('api/drip',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({address:document.getElementById('a').value.trim()})});
const j=await r.json();if(r.ok){out.className='ok';out.textContent='Sent '+j.amount+' in transaction '+j.hash}else{out.className='err';out.textContent=j.error.message}}
catch(err){out.className='err';out.textContent='the faucet did not answer: '+err.message}});
</script>
</body></html>
`
}
