# shellcheck shell=bash
# tests/webconf.sh: the one generator of the web-server configurations
# that tests and benchmarks run, nginx and Apache, one host or several,
# each built from the shipped nginx/fcomet.conf, nginx/fcomet-upstream.conf
# and apache/fcomet.conf. Sourced by tests/integration/lib.sh,
# tests/bench/bench.sh and tests/bench/run_memcached; needs $top.
#
# nginx_location PREFIX SOCK UPDIR [DIRECTIVES]: prints nginx/fcomet.conf
#   moved to location PREFIX (e.g. /b/chat/) with DIRECTIVES inside, on
#   unix socket SOCK through an upstream of fcomet-upstream.conf's shape
#   that it writes to UPDIR/NAME.conf. WEB_KEEPALIVE=N: N idle connections
#   per nginx worker instead of the shipped number; 0: no upstream, one
#   connection a request, as fcomet-upstream.conf's comment describes.
# nginx_conf DIR UPDIR: prints the nginx.conf of a private nginx in DIR
#   (pid, error log, temp files there; 2 workers), the server{} blocks
#   read from stdin, UPDIR/*.conf included in http{}; as root its workers
#   run as www-data. WEB_CONNECTIONS (worker_connections, 19000),
#   WEB_ACCESS_LOG (a path, default off), WEB_MODULES (load_module lines)
#   and WEB_HTTP (more http{} lines) adjust it.
# nginx_run DIR: checks DIR/nginx.conf (nginx -t) and starts it in the
#   background; sets WEB_PID. Returns 1, the reason in DIR/error.log, if
#   the configuration is refused.
# apache_prefix PREFIX SOCK: prints apache/fcomet.conf moved to PREFIX on
#   SOCK.
# apache_conf DIR PORT DOCROOT USERLINES [INCLUDES]: prints a complete
#   httpd.conf (event MPM sized for ~1,500 waiting requests) serving
#   DOCROOT and including DIR/fcomet.conf and the files INCLUDES matches.

nginx_location() {
	local prefix=$1 sock=$2 updir=$3 lines=${4:-} up pass keep=on
	up=fcomet$(printf %s "$sock" | tr -c "A-Za-z0-9" _)
	pass=$up
	if [ "${WEB_KEEPALIVE:-}" = 0 ]; then
		pass=unix:$sock keep=off
	else
		mkdir -p "$updir"
		sed -e "s#^upstream fcomet {#upstream $up {#" \
		    -e "s#unix:/run/fcomet/fcomet.sock#unix:$sock#" \
		    ${WEB_KEEPALIVE:+-e "s#^\tkeepalive [0-9]*;#\tkeepalive $WEB_KEEPALIVE;#"} \
		    "$top/nginx/fcomet-upstream.conf" >"$updir/$up.conf"
	fi
	sed -e "s#^location /chat/ {#location $prefix {\n\t$lines#" \
	    -e "s#@fcomet_too_large#@fcomet_too_large_$up#g" \
	    -e "s#fastcgi_pass fcomet;#fastcgi_pass $pass;#" \
	    -e "s#fastcgi_keep_conn on;#fastcgi_keep_conn $keep;#" \
	    "$top/nginx/fcomet.conf"
}

nginx_conf() {
	local p=$1 updir=$2
	mkdir -p "$p/tmp" "$updir"
	cp /etc/nginx/fastcgi_params /etc/nginx/mime.types "$p/"
	cat <<-EOF
	${WEB_MODULES:-}
	$([ "$(id -u)" = 0 ] && echo "user www-data www-data;")
	worker_processes 2;
	worker_rlimit_nofile 20000;
	daemon off;
	pid $p/nginx.pid;
	error_log $p/error.log warn;
	events { worker_connections ${WEB_CONNECTIONS:-19000}; }
	http {
		include mime.types;
		default_type application/octet-stream;
		access_log ${WEB_ACCESS_LOG:-off};
		client_body_temp_path $p/tmp/body;
		fastcgi_temp_path $p/tmp/fastcgi;
		proxy_temp_path $p/tmp/proxy;
		uwsgi_temp_path $p/tmp/uwsgi;
		scgi_temp_path $p/tmp/scgi;
		include $updir/*.conf;
		${WEB_HTTP:-}
	EOF
	cat
	echo "}"
}

nginx_run() {
	nginx -t -p "$1/" -c "$1/nginx.conf" -e "$1/error.log" \
	    >>"$1/error.log" 2>&1 || return 1
	nginx -p "$1/" -c "$1/nginx.conf" -e "$1/error.log" \
	    >>"$1/error.log" 2>&1 </dev/null &
	WEB_PID=$!
}

apache_prefix() {
	sed -e "s#\"/chat/\"#\"$1\"#g" -e "s#fcgi://localhost/chat/#fcgi://localhost$1#" \
	    -e "s#unix:/run/fcomet/fcomet.sock#unix:$2#" "$top/apache/fcomet.conf"
}

apache_conf() {
	local m=/usr/lib/apache2/modules mod
	cat <<-EOF
	ServerRoot $1
	ServerName 127.0.0.1
	Listen 127.0.0.1:$2
	ListenBacklog 4096
	PidFile $1/httpd.pid
	DefaultRuntimeDir $1/run
	ErrorLog $1/error.log
	LogLevel warn
	$4
	EOF
	for mod in mpm_event authz_core authz_user authn_core authn_file \
	    authz_host auth_basic mime dir alias env headers proxy proxy_fcgi; do
		echo "LoadModule ${mod}_module $m/mod_$mod.so"
	done
	cat <<-EOF
	LogFormat "%h %l %u %t \"%r\" %>s %b %D" common
	CustomLog $1/access.log common
	TypesConfig /etc/mime.types
	StartServers 2
	ServerLimit 24
	ThreadLimit 64
	ThreadsPerChild 64
	MaxRequestWorkers 1536
	MinSpareThreads 64
	MaxSpareThreads 1024
	MaxConnectionsPerChild 0
	KeepAlive On
	DocumentRoot "$3"
	DirectoryIndex index.html
	<Directory />
		AllowOverride None
		Require all denied
	</Directory>
	<Directory "$3">
		Require all granted
	</Directory>
	Include $1/fcomet.conf
	${5:+IncludeOptional $5}
	EOF
}
